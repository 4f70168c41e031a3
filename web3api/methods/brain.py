"""web3.brain.candidates|resolve|invoke: which model a session's agent thinks with (the market's
allowed brains, or its own centralized model when none will do: never an error)."""

from dataclasses import asdict

from rest_framework import serializers

from market.selectors import brain as selectors
from market.selectors.sessions import session_get
from market.services import brain as services
from web3api import status
from web3api.methods.sessions import delegation
from web3api.registry import method
from web3api.serializers import Params, StrictCharField, id_field
from web3api.shapes.brain import BrainCandidatesResult, BrainChoiceSerializer, BrainInvokeResult

ALLOWLIST = (
    "Allowed: published model resources whose id or provider is on the market's WEB3_BRAIN_ALLOWLIST or on the "
    "owner's brainAllow (the spend policy of the agent token, kept on the sessions it opens); in a session also "
    "priced in its currency and payable under its policy (providerAllow/providerDeny), never the owner's own."
)
SCORE = (
    "Score (0-100): 40 x recent success rate + 30 x reputation/100 + 20 x cheapest callCost/its callCost + 10 x "
    "fastest median latency/its latency - 20 when stale; ties: cheaper, then older. Usable: health healthy or stale "
    "(failing = its newest call failed with E_UNAVAILABLE/E_TIMEOUT within WEB3_BRAIN_COOLDOWN_SEC) and affordable."
)
FALLBACK = (
    "When no brain is allowed, usable and affordable the answer is {source: centralized, reason} (reasons: "
    + ", ".join(services.REASONS)
    + "): the agent goes on with its own model; only bad input and another's session are errors."
)


class CandidatesParams(Params):
    sessionId = id_field("session", required=False, help_text="Id of a session (ses_...): its allowlist and budget.")


@method(
    name="web3.brain.candidates",
    summary="The model resources allowed as the agent's brain, with price, health, reputation and latency.",
    group="brain",
    read_only=True,
    params=CandidatesParams,
    result=BrainCandidatesResult,
    errors=["E_NOT_FOUND"],
    permissions=["any actor; with sessionId its owner (an agent token: its delegation's sessions)"],
    description=f"{ALLOWLIST} {SCORE} Without sessionId affordable is null and the caller's agent token policy "
    "(if any) gives the owner's list.",
)
def brain_candidates(call, params):
    session = None
    if params.get("sessionId"):
        session = session_get(session_id=params["sessionId"], actor_id=call.actor_id, delegation_id=delegation(call))
    policy = call.agent.policy if call.agent is not None else None
    return {"items": selectors.brain_candidates(actor_id=call.actor_id, session=session, policy=policy)}


class ResolveParams(Params):
    sessionId = id_field("session", help_text="Id of the session (ses_...).")
    preferred = StrictCharField(
        max_length=40,
        required=False,
        help_text="A resource id (res_...) the agent prefers: taken when allowed, healthy and affordable; otherwise "
        "passed over (preferredSkipped says why), never an error.",
    )


@method(
    name="web3.brain.resolve",
    summary="Pick the session's brain: a leased model of the market, or the centralized fallback with the reason.",
    group="brain",
    params=ResolveParams,
    result=BrainChoiceSerializer,
    risk="low",
    errors=["E_NOT_FOUND"],
    permissions=["the session's owner; an agent token only sessions of its delegation"],
    prerequisites=["an open session (web3.sessions.open)"],
    description=f"{ALLOWLIST} {SCORE} The pick is leased inside the session (its lease is issued on first use and "
    "draws on the session's budget; nothing is locked) and kept: web3.brain.invoke, web3.billing.status and "
    f"web3.status.summary show it; every change is a brain.resolve audit event. {FALLBACK}",
    examples=[
        {"params": {"sessionId": "ses_01jc0000000000000000000000", "preferred": "res_01jc0000000000000000000000"}}
    ],
)
def brain_resolve(call, params):
    return services.brain_resolve(
        session_id=params["sessionId"],
        actor_id=call.actor_id,
        delegation_id=delegation(call),
        preferred=params.get("preferred") or None,
    )


class BrainInvokeParams(Params):
    sessionId = id_field("session", help_text="Id of the session (ses_...).")
    input = serializers.DictField(
        help_text="The body for the brain's backend: for openai-compat a chat-completions body (non-empty messages, "
        "max_tokens a positive integer, ...), as web3.resources.invoke takes it."
    )


@method(
    name="web3.brain.invoke",
    summary="Call the session's brain through the market; the centralized fallback when none can answer.",
    group="brain",
    params=BrainInvokeParams,
    result=BrainInvokeResult,
    atomic=False,
    moves_money=True,
    risk="medium",
    errors=["E_NOT_FOUND"],
    unexpressible={"input": "the body the brain's backend takes, as the description says"},
    permissions=["the session's owner; an agent token only sessions of its delegation"],
    pricing={"model": "lease", "detail": "as web3.resources.invoke inside the session: billed units x the price"},
    prerequisites=["an open session (web3.sessions.open)"],
    description="Uses the kept brain (resolving one first when the session has none, or is on the fallback). A "
    "provider fault (E_UNAVAILABLE, E_TIMEOUT) charges nothing, counts toward the brain's health, and the session "
    f"is re-resolved without it and the call tried on the next brain, at most {services.MAX_ATTEMPTS} brains. "
    "The session's budget or a cap refusing the call falls back with that reason. The answer is the brain's "
    f"choice plus output and usage, or {{source: centralized, reason}}. {FALLBACK}",
)
def brain_invoke(call, params):
    choice, result = services.brain_invoke(
        session_id=params["sessionId"], actor_id=call.actor_id, delegation_id=delegation(call), input=params["input"]
    )
    out = asdict(choice)
    if result is not None:
        out.update(
            output=result.output, usage={"units": result.units, "cost": result.cost, "currency": result.lease.currency}
        )
    return out


def brain_message(row) -> str:
    if row is None:
        return "no brain resolved in the open session"
    if row.source == "web3":
        return f"the open session thinks with {row.model} (web3)"
    return f"the open session is on its centralized brain ({row.reason})"


@status.part("brain")
def _brain_part() -> tuple[str, str]:
    """How the market's allowlisted brains fare, and what open sessions think with."""
    listed, usable = selectors.market_brains()
    sources = selectors.brain_sources()
    tail = f"open sessions: {sources['web3']} on a web3 brain, {sources['centralized']} on the centralized fallback"
    if not listed:
        return "ok", f"no model on WEB3_BRAIN_ALLOWLIST (owners' brainAllow only); {tail}"
    if not usable:
        return "degraded", f"none of the {listed} allowlisted brains is usable; agents fall back; {tail}"
    return "ok", f"{usable} of {listed} allowlisted brains usable; {tail}"
