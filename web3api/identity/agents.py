"""Agent tokens: an owner delegates a bounded part of its actor to an agent (the butler), which then
never holds the owner's wallet key.

A token acts as its owner's actor, without the owner's roles, only for the methods its scopes name
(method names, or group patterns `web3.<group>.*`), spending under its policy (market.services.
policies). The token is shown once; only its sha256 is stored.

What a delegated token can never do, whatever its scopes say: hand on more than it holds (a token it
issues has scopes within its own, a policy within its own and spends under the same delegation, so
the caps hold for both together; it lives no longer than its issuer), see or revoke tokens other
than itself and the ones it issued, or end its owner's SIWE sessions (logout by an agent token
revokes that token). Revoking a token revokes every token issued from it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from market.audit.log import audit_record
from market.errors import Forbidden, InvalidArgument, NotFound, QuotaExceeded
from market.ids import new_id
from market.services.policies import policy_normalize, policy_within
from web3api.identity.services import hash_token
from web3api.models import AgentToken

AGENT_TOKEN_PREFIX = "oca_"  # noqa: S105 - a prefix, not a secret
SCOPE_PATTERN = r"^web3\.[a-z]+\.(?:[A-Za-z]+|\*)$"
MAX_LIVE_TOKENS = 50


@dataclass(frozen=True)
class AgentGrant:
    """What an authenticated agent token may do (on the caller)."""

    token_id: str
    pk: int
    owner_actor_id: str
    label: str
    scopes: tuple[str, ...]
    policy: dict
    delegation_id: str
    expires_at: datetime

    def allows(self, method_name: str) -> bool:
        return any(scope_covers(s, method_name) for s in self.scopes)


@dataclass(frozen=True)
class Issued:
    token: str
    row: AgentToken


def scope_covers(scope: str, method_name: str) -> bool:
    if scope.endswith(".*"):
        return method_name.startswith(scope[:-1])
    return scope == method_name


def _holds(mine: str, wanted: str) -> bool:
    """Whether holding scope `mine` covers handing on scope `wanted` (a pattern only by a pattern)."""
    return mine == wanted or (mine.endswith(".*") and wanted.startswith(mine[:-1]))


def _scope_known(scope: str, names: list[str]) -> bool:
    return any(scope_covers(scope, n) for n in names)


def scopes_check(scopes: list[str], method_names: list[str]) -> list[str]:
    """The scopes without repeats; each must name a method, or a group, the market has."""
    out = list(dict.fromkeys(scopes))
    for scope in out:
        if not re.fullmatch(SCOPE_PATTERN, scope) or not _scope_known(scope, method_names):
            raise InvalidArgument.field("scopes", f"{scope!r} names no method or group of this market")
    return out


def _grant(row: AgentToken) -> AgentGrant:
    return AgentGrant(
        token_id=row.token_id,
        pk=row.pk,
        owner_actor_id=row.owner_actor_id,
        label=row.label,
        scopes=tuple(row.scopes),
        policy=dict(row.policy),
        delegation_id=row.delegation_id,
        expires_at=row.expires_at,
    )


def agent_token_resolve(token: str) -> AgentGrant | None:
    """The grant of a live agent token, else None."""
    if not token.startswith(AGENT_TOKEN_PREFIX) or len(token) > 128:
        return None
    row = AgentToken.objects.filter(
        token_hash=hash_token(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
    return None if row is None else _grant(row)


def agent_token_issue(
    *,
    owner_actor_id: str,
    label: str,
    scopes: list[str],
    policy: dict | None,
    ttl_sec: int,
    method_names: list[str],
    issuer: AgentGrant | None = None,
) -> Issued:
    """Issue a token for the owner (signed in with its wallet) or, within its own bounds, for an
    agent token (`issuer`)."""
    scopes = scopes_check(scopes, method_names)
    if ttl_sec > settings.WEB3_AGENT_TOKEN_MAX_TTL_SEC:
        raise InvalidArgument.field("ttlSec", f"at most {settings.WEB3_AGENT_TOKEN_MAX_TTL_SEC} on this market")
    now = timezone.now()
    expires_at = now + timedelta(seconds=ttl_sec)
    token_id = new_id("agt")
    delegation_id, parent = token_id, None
    if issuer is not None:
        wider = [s for s in scopes if not any(_holds(mine, s) for mine in issuer.scopes)]
        if wider:
            raise Forbidden("an agent token can hand on only scopes it holds", details={"scopes": wider})
        policy = issuer.policy if policy is None else policy_normalize(policy)
        problem = policy_within(policy, issuer.policy)
        if problem:
            raise Forbidden(f"an agent token can hand on only what it holds: {problem}")
        expires_at = min(expires_at, issuer.expires_at)
        delegation_id, parent = issuer.delegation_id, AgentToken.objects.get(pk=issuer.pk)
    else:
        policy = policy_normalize(policy)
    live = AgentToken.objects.filter(owner_actor_id=owner_actor_id, revoked_at__isnull=True, expires_at__gt=now)
    if live.count() >= MAX_LIVE_TOKENS:
        raise QuotaExceeded(
            f"at most {MAX_LIVE_TOKENS} live agent tokens per owner", details={"quota": MAX_LIVE_TOKENS}
        )
    token = AGENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = AgentToken.objects.create(
        token_id=token_id,
        token_hash=hash_token(token),
        owner_actor_id=owner_actor_id,
        label=label,
        scopes=scopes,
        policy=policy,
        delegation_id=delegation_id,
        parent=parent,
        expires_at=expires_at,
    )
    audit_record(
        actor_id=owner_actor_id,
        action="agent_token.issue",
        object_type="agent_token",
        object_id=token_id,
        payload={
            "label": label,
            "scopes": scopes,
            "policy": policy,
            "delegationId": delegation_id,
            "expiresAt": expires_at.isoformat(),
        },
    )
    return Issued(token=token, row=row)


def _descendants(pks: list[int]) -> list[int]:
    found, frontier = list(pks), list(pks)
    while frontier:
        frontier = list(AgentToken.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found += frontier
    return found


def agent_tokens_visible(*, owner_actor_id: str, issuer: AgentGrant | None = None) -> QuerySet[AgentToken]:
    """The owner sees all its tokens; an agent token sees itself and the tokens issued from it."""
    qs = AgentToken.objects.filter(owner_actor_id=owner_actor_id)
    if issuer is not None:
        qs = qs.filter(pk__in=_descendants([issuer.pk]))
    return qs


def agent_token_revoke(*, owner_actor_id: str, token_id: str, issuer: AgentGrant | None = None) -> AgentToken:
    """Revoke a token and every token issued from it (again: no change)."""
    row = agent_tokens_visible(owner_actor_id=owner_actor_id, issuer=issuer).filter(token_id=token_id).first()
    if row is None:
        raise NotFound("no such agent token")
    now = timezone.now()
    revoked = AgentToken.objects.filter(pk__in=_descendants([row.pk]), revoked_at__isnull=True)
    ids = sorted(revoked.values_list("token_id", flat=True))
    if ids:
        revoked.update(revoked_at=now)
        audit_record(
            actor_id=owner_actor_id,
            action="agent_token.revoke",
            object_type="agent_token",
            object_id=row.token_id,
            payload={"label": row.label, "revoked": ids},
        )
    row.refresh_from_db()
    return row
