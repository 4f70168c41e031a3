"""web3.sessions.open|get|list|approve|decline and web3.billing.settleSession."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from market.errors import Forbidden
from market.models import Session
from market.selectors import sessions as selectors
from market.services import sessions as services
from web3api import status
from web3api.money import amounts_to_minor, currency_field, money_field
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import Params, StrictCharField, cursor_field, id_field, limit_field
from web3api.shapes.sessions import SessionListResult, SessionSerializer, SettleResult


def opener(call) -> services.Opener:
    agent = call.agent
    if agent is None:
        return services.Opener(owner_actor_id=call.actor_id)
    return services.Opener(
        owner_actor_id=call.actor_id,
        delegation_id=agent.delegation_id,
        agent_token_id=agent.token_id,
        agent_label=agent.label,
        policy=agent.policy,
    )


def delegation(call) -> str:
    return call.agent.delegation_id if call.agent is not None else ""


class SessionOpenParams(Params):
    budget = money_field("Prepaid: locked once now. Trusted: the most the session may accrue.", currency="currency")
    currency = currency_field()
    ttlSec = serializers.IntegerField(
        min_value=1, max_value=30 * 24 * 3600, help_text="Life of the session (at most WEB3_SESSION_MAX_TTL_SEC)."
    )
    mode = serializers.ChoiceField(
        choices=Session.Mode.values,
        default="prepaid",
        help_text="prepaid (default): the budget is locked and calls draw on it; trusted: nothing is locked, usage is "
        "paid from the free balance at settlement, only to providers on the policy's providerAllow.",
    )
    label = StrictCharField(max_length=80, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        return amounts_to_minor(self, attrs)


@method(
    name="web3.sessions.open",
    summary="Open a session: lock its budget once (prepaid) or set its cap (trusted).",
    group="sessions",
    params=SessionOpenParams,
    result=SessionSerializer,
    moves_money=True,
    risk="medium",
    errors=["E_INSUFFICIENT_FUNDS", "E_QUOTA_EXCEEDED", "E_FORBIDDEN"],
    unexpressible={"ttlSec": "at most WEB3_SESSION_MAX_TTL_SEC"},
    permissions=["the owner, or its agent token (then under the token's spend policy)"],
    description="A budget above the policy's sessionCap (or the market's sessionCap limit, web3.admin.getLimits) is "
    "E_QUOTA_EXCEEDED with details.cap naming the cap, and nothing is locked. Above the policy's approvalAbove, the "
    "session is session_pending_approval: nothing is locked until the owner calls web3.sessions.approve (within "
    "WEB3_SESSION_APPROVAL_TTL_SEC, else it lapses to session_expired). A currency the policy does not allow, or a "
    "trusted session without providerAllow: E_FORBIDDEN.",
    examples=[{"params": {"budget": "5", "currency": "USDC", "ttlSec": 3600, "mode": "prepaid", "label": "research"}}],
)
def sessions_open(call, params):
    return services.session_open(
        opener=opener(call),
        budget=params["budget"],
        currency=params["currency"],
        ttl_sec=params["ttlSec"],
        mode=params["mode"],
        label=params["label"],
    )


class SessionIdParams(Params):
    sessionId = id_field("session", help_text="Id of the session (ses_...).")


@method(
    name="web3.sessions.get",
    summary="One session with what it accrued per provider.",
    group="sessions",
    read_only=True,
    params=SessionIdParams,
    result=SessionSerializer,
    errors=["E_NOT_FOUND"],
    permissions=["the owner; an agent token only sessions of its delegation"],
)
def sessions_get(call, params):
    return selectors.session_get(session_id=params["sessionId"], actor_id=call.actor_id, delegation_id=delegation(call))


class SessionListParams(Params):
    status = serializers.ChoiceField(choices=Session.Status.values, required=False)
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.sessions.list",
    summary="The caller's sessions, newest first.",
    group="sessions",
    read_only=True,
    params=SessionListParams,
    result=SessionListResult,
    permissions=["the owner; an agent token only sessions of its delegation"],
)
def sessions_list(call, params):
    qs = selectors.session_list(actor_id=call.actor_id, delegation_id=delegation(call), status=params.get("status"))
    return paginate(qs, params)


def _owner_only(call) -> None:
    if call.agent is not None:
        raise Forbidden("only the owner's own wallet session may approve or decline, never an agent token")


@method(
    name="web3.sessions.approve",
    summary="The owner approves a session waiting for approval: its budget is locked now.",
    group="sessions",
    params=SessionIdParams,
    result=SessionSerializer,
    moves_money=True,
    risk="medium",
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED", "E_INSUFFICIENT_FUNDS", "E_QUOTA_EXCEEDED"],
    permissions=["the owner signed in with its wallet (an agent token: E_FORBIDDEN)"],
    description="The session cap in force now applies: a budget above it (the market's sessionCap limit was "
    "lowered while the session waited) is E_QUOTA_EXCEEDED naming the cap, and nothing is locked.",
)
def sessions_approve(call, params):
    _owner_only(call)
    return services.session_decide(session_id=params["sessionId"], actor_id=call.actor_id, approve=True)


@method(
    name="web3.sessions.decline",
    summary="The owner declines a session waiting for approval: nothing was ever locked.",
    group="sessions",
    params=SessionIdParams,
    result=SessionSerializer,
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED"],
    permissions=["the owner signed in with its wallet (an agent token: E_FORBIDDEN)"],
)
def sessions_decline(call, params):
    _owner_only(call)
    return services.session_decide(session_id=params["sessionId"], actor_id=call.actor_id, approve=False)


@method(
    name="web3.billing.settleSession",
    summary="End a session: pay each provider what accrued, refund the rest; idempotent.",
    group="billing",
    params=SessionIdParams,
    result=SettleResult,
    moves_money=True,
    risk="medium",
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_INSUFFICIENT_FUNDS"],
    permissions=["the owner; an agent token only sessions of its delegation"],
    description="In one transaction: the session's leases end, each provider's line is released, the rest of a "
    "prepaid lock is refunded. A second call returns the first result. A session past its TTL is settled by the "
    "sessions.expire sweep. A trusted session whose owner's free balance cannot pay: E_INSUFFICIENT_FUNDS, "
    "nothing moves, the session stays open.",
)
def billing_settle_session(call, params):
    session = services.session_settle(
        session_id=params["sessionId"], actor_id=call.actor_id, delegation_id=delegation(call)
    )
    return {"session": session, "settlement": session.settlement}


@status.part("sessions")
def _sessions_part() -> tuple[str, str]:
    """Open sessions, and whether the sweep keeps up with those past their TTL."""
    now = timezone.now()
    open_ = Session.objects.filter(status=Session.Status.OPEN)
    overdue = open_.filter(expires_at__lte=now - timedelta(seconds=2 * settings.WEB3_SWEEP_INTERVAL_SEC)).count()
    if overdue:
        return "degraded", f"{overdue} sessions past their TTL wait for the sessions.expire sweep"
    return "ok", f"{open_.count()} open sessions"
