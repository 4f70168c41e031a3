"""Spend policies: what an owner lets a delegated agent spend, within the market-wide limits.

A policy is the object `{sessionCap, dailyCap, counterpartyDailyCap, currencies, providerAllow,
providerDeny, brainAllow, approvalAbove, callsPerMinute}`, every field optional. brainAllow is the
owner's own brain allowlist (resource or provider ids its agent may think with, beside the market's
WEB3_BRAIN_ALLOWLIST: market.selectors.brain); it allows no payment that providerAllow/Deny refuse.
Amounts are decimal strings read in the scale of the currency they are compared in (a cap of
"12.5" is 12.5 USDC for a USDC session), rounded down to that scale, so a cap never allows more than
it says. The market-wide limits that staff set (web3.admin.setLimits; defaults
WEB3_AGENT_MAX_SESSION_CAP and WEB3_AGENT_MAX_DAILY_CAP) bound every policy: a policy may ask for
less, never more (issuing one above a limit is E_INVALID_ARGUMENT naming it), and a policy without a
cap gets the market's. The effective cap is computed where it is checked, so a limit lowered later
bounds existing tokens too (market.selectors.limits).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from market.errors import InvalidArgument
from market.money import ceiling_minor, currencies, scale_of
from market.selectors.limits import LIMITS, limits_current

AMOUNT_FIELDS = ("sessionCap", "dailyCap", "counterpartyDailyCap", "approvalAbove")
LIST_FIELDS = ("currencies", "providerAllow", "providerDeny", "brainAllow")
FIELDS = (*AMOUNT_FIELDS, *LIST_FIELDS, "callsPerMinute")


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise InvalidArgument.field(field, "must be a decimal string") from None
    if not value.is_finite() or value < 0:
        raise InvalidArgument.field(field, "must be a decimal string, zero or more")
    return value


def policy_normalize(policy: dict[str, Any] | None) -> dict[str, Any]:
    """The policy as it is stored: only the fields given, lists without repeats, in order; refused
    with E_INVALID_ARGUMENT (naming `policy.<field>`) for an unknown currency or a cap above the
    market's limit."""
    policy = dict(policy or {})
    unknown = sorted(set(policy) - set(FIELDS))
    if unknown:
        raise InvalidArgument.field(f"policy.{unknown[0]}", "unknown field")
    out: dict[str, Any] = {}
    limits = limits_current() if any(name in policy for name in LIMITS) else {}
    for name in AMOUNT_FIELDS:
        if name in policy:
            value = _decimal(policy[name], f"policy.{name}")
            if name in limits and value > Decimal(limits[name]):
                raise InvalidArgument.field(
                    f"policy.{name}", f"above the market's limit {name} of {limits[name]} (web3.admin.getLimits)"
                )
            out[name] = policy[name]
    for name in LIST_FIELDS:
        if name in policy:
            values = [v.lower() if name != "currencies" else v for v in policy[name]]
            out[name] = list(dict.fromkeys(values))
    for code in out.get("currencies", []):
        scale_of(code, field="policy.currencies")
    if "callsPerMinute" in policy:
        out["callsPerMinute"] = int(policy["callsPerMinute"])
    return out


def cap_minor(
    policy: dict[str, Any] | None, name: str, currency: str, limits: dict[str, str] | None = None
) -> int | None:
    """The effective cap `name` in minor units of `currency`: the policy's, bounded by the market's
    limit in force (`limits`, read now when not given; None: no cap of that kind). Owners without a
    policy (policy None) have only the market's."""
    scale = scale_of(currency)
    caps = []
    if policy and name in policy:
        caps.append(ceiling_minor(policy[name], scale, field=name))
    if name in LIMITS:
        limit = (limits if limits is not None else limits_current())[name]
        caps.append(ceiling_minor(limit, scale, field=name))
    return min(caps) if caps else None


def currency_allowed(policy: dict[str, Any] | None, currency: str) -> bool:
    allowed = (policy or {}).get("currencies")
    return currency in currencies() and (not allowed or currency in allowed)


def provider_allowed(policy: dict[str, Any] | None, provider_actor_id: str, *, trusted: bool = False) -> bool:
    """Deny wins; an allowlist, when given, is the only providers allowed; trusted (post-paid)
    sessions pay only providers the owner named on the allowlist."""
    policy = policy or {}
    if provider_actor_id in policy.get("providerDeny", ()):
        return False
    allow = policy.get("providerAllow")
    if trusted:
        return bool(allow) and provider_actor_id in allow
    return not allow or provider_actor_id in allow


def policy_within(child: dict[str, Any], parent: dict[str, Any]) -> str | None:
    """Why `child` allows more than `parent` does, or None when it allows no more (an agent that
    issues a token from its own can hand on only what it holds)."""
    for name in AMOUNT_FIELDS:
        if name in parent and (name not in child or Decimal(child[name]) > Decimal(parent[name])):
            return f"policy.{name} must be at most the issuer's ({parent[name]})"
    for name in ("currencies", "providerAllow"):
        if name in parent and (name not in child or not set(child[name]) <= set(parent[name])):
            return f"policy.{name} must be within the issuer's"
    if not set(child.get("brainAllow", ())) <= set(parent.get("brainAllow", ())):
        return "policy.brainAllow must be within the issuer's"
    if not set(parent.get("providerDeny", ())) <= set(child.get("providerDeny", ())):
        return "policy.providerDeny must include the issuer's"
    if "callsPerMinute" in parent and child.get("callsPerMinute", 10**9) > parent["callsPerMinute"]:
        return f"policy.callsPerMinute must be at most the issuer's ({parent['callsPerMinute']})"
    return None
