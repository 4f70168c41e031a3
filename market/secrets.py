"""Provider secrets at rest: a resource's endpoint and access token, encrypted with Fernet under
WEB3_SECRETS_KEY (never derived from SECRET_KEY).

`seal` is called when a resource is published or its secrets are rotated; `unseal` has exactly
one caller, the invoke proxy (market.services.invoke), so no other code path can read them.
`seal_bytes` / `unseal_bytes` encrypt the archive's objects at rest (market.archive_store) with the
same key.

Key rotation: WEB3_SECRETS_KEY_OLD lists the keys being retired (comma separated). Everything is
encrypted with WEB3_SECRETS_KEY and decrypted with any of them (MultiFernet), so old and new
tokens both work while `manage.py rotate_secrets` re-encrypts the stored ones; once it reports
nothing left under an old key, that key is removed from WEB3_SECRETS_KEY_OLD.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from market.errors import MarketError


@lru_cache(maxsize=4)
def _fernets(key: str, old: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    if not key:
        raise MarketError("the secrets key is not configured (run manage.py init_keys)")
    try:
        primary = Fernet(key.encode())
        return primary, MultiFernet([primary, *(Fernet(k.encode()) for k in old if k)])
    except ValueError:
        raise MarketError("a configured secrets key is not a Fernet key") from None


def _keys() -> tuple[Fernet, MultiFernet]:
    return _fernets(settings.WEB3_SECRETS_KEY, tuple(getattr(settings, "WEB3_SECRETS_KEY_OLD", ())))


def seal(value: str) -> str:
    """The encrypted form of `value` ('' stays '')."""
    if not value:
        return ""
    return _keys()[0].encrypt(value.encode()).decode()


def unseal(token: str) -> str:
    if not token:
        return ""
    try:
        return _keys()[1].decrypt(token.encode()).decode()
    except InvalidToken:
        raise MarketError("a stored provider secret cannot be decrypted with the configured key") from None


def seal_bytes(data: bytes) -> bytes:
    """Archive objects at rest (market.archive_store): the Fernet token of `data` under the same key."""
    return _keys()[0].encrypt(data)


def unseal_bytes(token: bytes) -> bytes:
    try:
        return _keys()[1].decrypt(token)
    except InvalidToken:
        raise MarketError("a stored archive object cannot be decrypted with the configured key") from None


def under_current_key(token: bytes) -> bool:
    """Whether `token` is already encrypted with WEB3_SECRETS_KEY (rotation skips it)."""
    try:
        _keys()[0].decrypt(token)
    except InvalidToken:
        return False
    return True


def reseal(token: bytes) -> bytes:
    """`token` re-encrypted with WEB3_SECRETS_KEY (decrypted with any configured key)."""
    try:
        return _keys()[1].rotate(token)
    except InvalidToken:
        raise MarketError("a stored secret cannot be decrypted with any configured key") from None
