"""web3.billing.guard: before every tool call, may it run, and why not."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from prometheus_client import Counter

from market.money import format_amount, parse_amount
from market.selectors import sessions as selectors
from web3api.money import money_field
from web3api.registry import method
from web3api.serializers import Params, StrictCharField, id_field
from web3api.shapes.sessions import GuardResult

log = logging.getLogger("web3api.guard")

# The one thing the guard writes: a process counter, by reason.
DECISIONS = Counter("web3_guard_decisions_total", "web3.billing.guard answers by reason", ["reason"])
INVOKE = "web3.resources.invoke"


class GuardParams(Params):
    sessionId = id_field("session", help_text="The session the call would run in (ses_...).")
    tool = StrictCharField(max_length=200, help_text="The tool (or model) the agent is about to call, for the record.")
    resourceId = id_field("resource", required=False, help_text="The resource the call would use (res_...).")
    estimatedCost = money_field(
        "What the agent expects the call to cost, in the session's currency (default: one unit of the resource's "
        "price, or zero).",
        positive=False,
        required=False,
    )


@method(
    name="web3.billing.guard",
    summary="Before a tool call: may it run in the session, and why not (stable reasons).",
    group="billing",
    read_only=True,
    params=GuardParams,
    result=GuardResult,
    risk="none",
    rate_limit="6000/m",
    unexpressible={"estimatedCost": "at most the session's currency's scale of decimals"},
    permissions=["the session's owner; an agent token only sessions of its delegation"],
    description="Answers from state it reads, writing nothing but a counter: allow true with reason ok, or "
    "allow false with one of no_session, session_expired, insufficient_budget, session_cap, daily_cap, "
    "counterparty_cap, provider_not_allowed, approval_required, rate_limited (retryAfterSec), market_unavailable "
    "(the market cannot run the call now: invoke is switched off or the database is unreachable; retryAfterSec). "
    "`remaining` is what the session and the tightest cap still allow. Advice: the invoke that follows checks the "
    "same rules under its locks.",
    examples=[{"params": {"sessionId": "ses_...", "tool": "web_search", "resourceId": "res_..."}}],
)
def billing_guard(call, params):
    if INVOKE in settings.WEB3_DISABLED_METHODS:
        verdict = {"allow": False, "reason": "market_unavailable", "remaining": None, "retryAfterSec": 60}
    else:
        verdict = _verdict(call, params)
    _counter(verdict["reason"]).inc()
    return verdict


_COUNTERS: dict = {}


def _counter(reason: str):
    # The labelled child once per reason: prometheus' labels() takes a lock and builds a key each time.
    child = _COUNTERS.get(reason)
    if child is None:
        child = _COUNTERS[reason] = DECISIONS.labels(reason)
    return child


def _estimate(text: str | None):
    """The estimate in minor units of the session's currency, parsed here at the edge once the
    selector knows the currency."""
    if text is None:
        return None
    return lambda currency: parse_amount(text, currency, field="estimatedCost", allow_zero=True)


def _verdict(call, params) -> dict:
    delegation = call.agent.delegation_id if call.agent is not None else ""
    try:
        v = selectors.guard_check(
            session_id=params["sessionId"],
            actor_id=call.actor_id,
            delegation_id=delegation,
            resource_id=params.get("resourceId"),
            estimated_cost=_estimate(params.get("estimatedCost")),
        )
    except DatabaseError:
        log.warning("guard: the database could not be read")
        return {"allow": False, "reason": "market_unavailable", "remaining": None, "retryAfterSec": 5}
    out = {
        "allow": v.allow,
        "reason": v.reason,
        "remaining": None if v.remaining is None else format_amount(v.remaining, v.currency),
    }
    if v.retry_after_sec is not None:
        out["retryAfterSec"] = v.retry_after_sec
    return out
