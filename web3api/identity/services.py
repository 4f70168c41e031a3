"""Sign-In with Ethereum (EIP-4361) through the `siwe` package, bearer tokens and roles.

`siwe` checks only what it is given; the server's part is here: the nonce is ours, unexpired and
consumed exactly once (a conditional UPDATE), the URI and chain id are the ones we issued, and the
issued-at time is recent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import siwe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from eth_keys.exceptions import BadSignature
from eth_utils import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError

from market.errors import AuthRequired, InvalidArgument
from web3api.models import ActorRole, ActorToken, SiweNonce

STATEMENT = "Sign in to the OpenClaw Web3 Market."
TOKEN_PREFIX = "ocw_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class Challenge:
    message: str
    nonce: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    token: str
    actor_id: str
    expires_at: datetime


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def siwe_challenge(*, address: str, chain_id: int, domain: str, uri: str) -> Challenge:
    """Issue a single-use nonce and the exact EIP-4361 message to sign."""
    if chain_id not in settings.WEB3_CHAIN_IDS:
        raise InvalidArgument.field("chainId", f"must be one of {settings.WEB3_CHAIN_IDS}")
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.WEB3_SIWE_NONCE_TTL_SEC)
    nonce = secrets.token_hex(16)
    message = siwe.SiweMessage(
        domain=domain,
        address=to_checksum_address(address),
        statement=STATEMENT,
        uri=uri,
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=_iso(now),
        expiration_time=_iso(expires_at),
    ).prepare_message()
    SiweNonce.objects.create(
        nonce=nonce, address=address.lower(), chain_id=chain_id, domain=domain, uri=uri,
        issued_at=now, expires_at=expires_at,
    )
    return Challenge(message=message, nonce=nonce, expires_at=expires_at)


def _parse(message: str) -> siwe.SiweMessage:
    try:
        return siwe.SiweMessage.from_message(message=message)
    except (ValueError, TypeError, siwe.VerificationError) as exc:
        raise InvalidArgument.field("message", "not an EIP-4361 message") from exc


def siwe_verify(*, message: str, signature: str, domain: str) -> Session:
    """Check the signed message against the nonce we issued; consume the nonce; issue a token."""
    parsed = _parse(message)
    now = timezone.now()
    try:
        parsed.verify(signature, domain=domain, nonce=parsed.nonce, timestamp=now)
    except siwe.DomainMismatch as exc:
        raise AuthRequired("the message is for another domain") from exc
    except siwe.ExpiredMessage as exc:
        raise AuthRequired("the message has expired") from exc
    except siwe.NotYetValidMessage as exc:
        raise AuthRequired("the message is not yet valid") from exc
    except siwe.VerificationError as exc:
        raise AuthRequired("the signature does not match the message's address") from exc
    except (ValueError, TypeError, BadSignature, EthValidationError) as exc:
        # Random 65 bytes: eth_keys refuses to recover a key (v out of range, r or s beyond the
        # curve order) with its own exceptions, which siwe does not translate.
        raise AuthRequired("the signature is not valid") from exc

    address = str(parsed.address).lower()
    issued_at = datetime.fromisoformat(str(parsed.issued_at).replace("Z", "+00:00"))
    skew = timedelta(seconds=settings.WEB3_SIWE_CLOCK_SKEW_SEC)
    if issued_at > now + skew:
        raise AuthRequired("the message is issued in the future")
    if issued_at < now - timedelta(seconds=settings.WEB3_SIWE_MAX_AGE_SEC):
        raise AuthRequired("the message is too old; ask for a new challenge")
    if parsed.chain_id not in settings.WEB3_CHAIN_IDS:
        raise AuthRequired("the chain id is not accepted here")

    with transaction.atomic():
        nonce = SiweNonce.objects.filter(nonce=parsed.nonce).first()
        if nonce is None:
            raise AuthRequired("unknown nonce; ask for a challenge")
        if nonce.address != address:
            raise AuthRequired("the nonce was issued to another address")
        if nonce.chain_id != parsed.chain_id:
            raise AuthRequired("the chain id differs from the challenge's")
        if nonce.uri != parsed.uri or nonce.domain != parsed.domain:
            raise AuthRequired("the URI differs from the challenge's")
        # Single use: only one verify can flip used_at from NULL.
        consumed = SiweNonce.objects.filter(
            pk=nonce.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if consumed != 1:
            raise AuthRequired("the nonce was already used or has expired")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + timedelta(seconds=settings.WEB3_TOKEN_TTL_SEC)
        ActorToken.objects.create(token_hash=hash_token(token), actor_id=address, expires_at=expires_at)
    return Session(token=token, actor_id=address, expires_at=expires_at)


def token_resolve(token: str) -> ActorToken | None:
    """The live token row for a presented bearer token, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    return ActorToken.objects.filter(
        token_hash=hash_token(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def token_revoke(*, token_id: int) -> None:
    ActorToken.objects.filter(pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())


def roles_for(actor_id: str) -> frozenset[str]:
    return frozenset(ActorRole.objects.filter(actor_id=actor_id).values_list("role", flat=True))


def role_grant(*, actor_id: str, role: str) -> bool:
    _, created = ActorRole.objects.get_or_create(actor_id=actor_id.lower(), role=role)
    return created


def role_revoke(*, actor_id: str, role: str) -> bool:
    deleted, _ = ActorRole.objects.filter(actor_id=actor_id.lower(), role=role).delete()
    return bool(deleted)


def purge_expired() -> dict[str, int]:
    """Periodic: forget expired nonces and tokens (a day after they expired)."""
    now = timezone.now()
    nonces, _ = SiweNonce.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    tokens, _ = ActorToken.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return {"nonces": nonces, "tokens": tokens}
