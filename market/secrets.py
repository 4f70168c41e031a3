"""Provider secrets at rest: a resource's endpoint and access token, encrypted with Fernet under
WEB3_SECRETS_KEY (never derived from SECRET_KEY).

`seal` is called when a resource is published or its secrets are rotated; `unseal` has exactly
one caller, the invoke proxy (market.services.invoke), so no other code path can read them.
`seal_bytes` / `unseal_bytes` encrypt the archive's objects at rest (market.archive_store) with the
same key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from market.errors import MarketError


@lru_cache(maxsize=2)
def _fernet(key: str) -> Fernet:
    if not key:
        raise MarketError("the secrets key is not configured (run manage.py init_keys)")
    return Fernet(key.encode())


def seal(value: str) -> str:
    """The encrypted form of `value` ('' stays '')."""
    if not value:
        return ""
    return _fernet(settings.WEB3_SECRETS_KEY).encrypt(value.encode()).decode()


def unseal(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.WEB3_SECRETS_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise MarketError("a stored provider secret cannot be decrypted with the configured key") from None


def seal_bytes(data: bytes) -> bytes:
    """Archive objects at rest (market.archive_store): the Fernet token of `data` under the same key."""
    return _fernet(settings.WEB3_SECRETS_KEY).encrypt(data)


def unseal_bytes(token: bytes) -> bytes:
    try:
        return _fernet(settings.WEB3_SECRETS_KEY).decrypt(token)
    except InvalidToken:
        raise MarketError("a stored archive object cannot be decrypted with the configured key") from None
