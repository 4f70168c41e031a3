"""Sign-In with Ethereum (EIP-4361) through the `siwe` package, bearer tokens and roles.

The market signs in only the exact text it issued. A challenge stores the sha256 of its message
with the nonce; verify finds the nonce by a plain scan of the text, looks it up and compares
digests before anything parses the text (the EIP-4361 grammar is super-linear: a few KB of
crafted text cost seconds). Any other text, edited or not, is E_AUTH_REQUIRED. Then, outside any
transaction, `siwe` recovers the signer and checks domain, nonce and expiry on that issued text;
only then a short transaction consumes the nonce (a conditional UPDATE: exactly once) and stores
the token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import siwe
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from eth_keys.exceptions import BadSignature
from eth_utils import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError

from market.errors import AuthRequired, InvalidArgument
from web3api.models import ActorRole, ActorToken, SiweNonce

STATEMENT = "Sign in to the OpenClaw Web3 Market."
TOKEN_PREFIX = "ocw_"  # noqa: S105 - a prefix, not a secret
# Issued messages are about 300 characters (a 255-character domain would still fit): anything
# longer cannot be one, and is refused before it is read.
MESSAGE_MAX_CHARS = 1024
NONCE_LINE = "\nNonce: "
NONCE_FORMAT = re.compile(r"[0-9a-f]{32}")
RETRY = "ask web3.siwe.challenge for a new message and send it to web3.siwe.verify signed and unchanged"


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


def siwe_domain_and_uri(request) -> tuple[str, str]:
    """The domain and URI a SIWE message must name: WEB3_SIWE_DOMAIN (over https) when set (every
    replica behind a proxy must agree), else the request's own host and scheme."""
    domain = settings.WEB3_SIWE_DOMAIN or request.get_host()
    scheme = "https" if settings.WEB3_SIWE_DOMAIN or request.is_secure() else request.scheme
    return domain, f"{scheme}://{domain}"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def message_digest(message: str) -> str:
    return hashlib.sha256(message.encode("utf-8", "surrogatepass")).hexdigest()


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
        nonce=nonce,
        address=address.lower(),
        chain_id=chain_id,
        domain=domain,
        uri=uri,
        message_sha256=message_digest(message),
        issued_at=now,
        expires_at=expires_at,
    )
    return Challenge(message=message, nonce=nonce, expires_at=expires_at)


def _refused(reason: str) -> AuthRequired:
    """Every SIWE refusal: E_AUTH_REQUIRED, saying what to do instead."""
    return AuthRequired(f"{reason}; {RETRY}", details=dict(AuthRequired.SIGN_IN))


def _nonce_in(message: str) -> str | None:
    """The nonce of a message shaped like ours: one linear search for its Nonce line, no grammar."""
    start = message.find(NONCE_LINE)
    if start < 0:
        return None
    start += len(NONCE_LINE)
    candidate = message[start : start + 32]
    if not NONCE_FORMAT.fullmatch(candidate) or message[start + 32 : start + 33] != "\n":
        return None
    return candidate


def _issued_nonce(message: str, now: datetime) -> SiweNonce:
    """The live nonce row this exact text was issued with; anything else is refused unread."""
    if len(message) > MESSAGE_MAX_CHARS:
        raise _refused(f"the message is longer than {MESSAGE_MAX_CHARS} characters, so not one the market issued")
    value = _nonce_in(message)
    if value is None:
        raise _refused("the message is not one the market issued (no nonce line)")
    row = SiweNonce.objects.filter(nonce=value).first()
    if row is None:
        raise _refused("unknown nonce")
    if not hmac.compare_digest(row.message_sha256, message_digest(message)):
        raise _refused("the message differs from the one issued for its nonce")
    if row.used_at is not None or row.expires_at <= now:
        raise _refused("the nonce was already used or has expired")
    return row


def _check_signature(message: str, signature: str, *, domain: str, nonce: str, now: datetime) -> None:
    """siwe's own checks of our issued text: signer, domain, nonce, expiry."""
    try:
        siwe.SiweMessage.from_message(message=message).verify(signature, domain=domain, nonce=nonce, timestamp=now)
    except siwe.DomainMismatch as exc:
        raise _refused("the message is for another domain") from exc
    except siwe.ExpiredMessage as exc:
        raise _refused("the message has expired") from exc
    except siwe.NotYetValidMessage as exc:
        raise _refused("the message is not yet valid") from exc
    except siwe.VerificationError as exc:
        raise _refused("the signature does not match the message's address") from exc
    except (ValueError, TypeError, BadSignature, EthValidationError) as exc:
        # Random 65 bytes: eth_keys refuses to recover a key (v out of range, r or s beyond the
        # curve order) with its own exceptions, which siwe does not translate.
        raise _refused("the signature is not valid") from exc


def siwe_verify(*, message: str, signature: str, domain: str) -> Session:
    """Exchange the exact issued message, signed by its wallet, for a bearer token (once).

    Runs outside any transaction until the nonce is consumed: reading and checking a message
    never holds a database lock."""
    now = timezone.now()
    nonce = _issued_nonce(message, now)
    _check_signature(message, signature, domain=domain, nonce=nonce.nonce, now=now)
    if nonce.issued_at < now - timedelta(seconds=settings.WEB3_SIWE_MAX_AGE_SEC):
        raise _refused("the message is too old")
    if nonce.chain_id not in settings.WEB3_CHAIN_IDS:
        raise _refused("the chain id is no longer accepted here")

    with transaction.atomic():
        # Single use: only one verify can flip used_at from NULL.
        consumed = SiweNonce.objects.filter(pk=nonce.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
        if consumed != 1:
            raise _refused("the nonce was already used or has expired")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + timedelta(seconds=settings.WEB3_TOKEN_TTL_SEC)
        ActorToken.objects.create(token_hash=hash_token(token), actor_id=nonce.address, expires_at=expires_at)
    return Session(token=token, actor_id=nonce.address, expires_at=expires_at)


def token_resolve(token: str) -> ActorToken | None:
    """The live token row for a presented bearer token, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    return ActorToken.objects.filter(
        token_hash=hash_token(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def token_resolve_with_roles(token: str) -> tuple[ActorToken, frozenset[str]] | None:
    """token_resolve and roles_for of its actor, in one statement (the gateway asks both of every
    call): each role is an EXISTS on the token's row."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    held = {
        f"holds_{role}": Exists(ActorRole.objects.filter(actor_id=OuterRef("actor_id"), role=role))
        for role in ActorRole.Role.values
    }
    row = (
        ActorToken.objects.filter(token_hash=hash_token(token), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .annotate(**held)
        .first()
    )
    if row is None:
        return None
    return row, frozenset(role for role in ActorRole.Role.values if getattr(row, f"holds_{role}"))


def token_revoke(*, token_id: int) -> None:
    ActorToken.objects.filter(pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())


def roles_for(actor_id: str) -> frozenset[str]:
    return frozenset(ActorRole.objects.filter(actor_id=actor_id).values_list("role", flat=True))


def roles_of(actor_ids: list[str]) -> dict[str, list[str]]:
    """The roles of each of these actors (one query), for a page of actors."""
    out: dict[str, list[str]] = {a: [] for a in actor_ids}
    for actor_id, role in (
        ActorRole.objects.filter(actor_id__in=actor_ids).order_by("role").values_list("actor_id", "role")
    ):
        out[actor_id].append(role)
    return out


def role_holders() -> list[ActorRole]:
    return list(ActorRole.objects.order_by("role", "actor_id"))


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
