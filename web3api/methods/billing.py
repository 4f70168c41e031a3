"""web3.billing.status and web3.billing.summary."""

import logging

from django.conf import settings
from django.db import DatabaseError

from market.selectors import brain as brain_selectors
from market.selectors import ledger as ledger_selectors
from market.selectors import sessions as session_selectors
from market.services.brain import resolution_of
from web3api.methods.brain import brain_message
from web3api.registry import EmptyParams, method
from web3api.shapes.ledger import BillingSummaryResult
from web3api.shapes.sessions import WalletStatusResult

log = logging.getLogger("web3api.billing")


def _part(name: str, read, parts: dict, fallback):
    """Read one part of the answer; a part that cannot be read degrades with a message."""
    try:
        value, message = read()
    except DatabaseError:
        log.warning("billing.status: %s could not be read", name)
        parts[name] = {"status": "degraded", "message": f"{name} could not be read just now; try again shortly"}
        return fallback
    parts[name] = {"status": "ok", "message": message}
    return value


@method(
    name="web3.billing.status",
    summary="Available and locked (reserved) balance per currency, open settlements, the open session, health.",
    group="billing",
    read_only=True,
    params=EmptyParams,
    result=WalletStatusResult,
    description="`brain` is the open session's current brain source (web3.brain.resolve). Each part (ledger, "
    "sessions, brain, invoke) is read on its own: one that cannot be read is reported in "
    "`parts` as degraded with a message, and the rest of the answer stands.",
)
def billing_status(call, params):
    parts: dict = {}
    delegation = call.agent.delegation_id if call.agent is not None else ""

    def ledger():
        figures = ledger_selectors.money_figures(call.actor_id, flows=False)
        return (figures, ledger_selectors.open_settlements(call.actor_id).count()), "balances read"

    def sessions():
        session = session_selectors.open_session(actor_id=call.actor_id, delegation_id=delegation)
        return session, "an open session" if session else "no open session"

    def brain():
        row = brain_selectors.open_session_brain(actor_id=call.actor_id, delegation_id=delegation)
        return (resolution_of(row) if row else None), brain_message(row)

    figures, open_settlements = _part("ledger", ledger, parts, ({}, 0))
    session = _part("sessions", sessions, parts, None)
    brain_choice = _part("brain", brain, parts, None)
    enabled = "web3.resources.invoke" not in settings.WEB3_DISABLED_METHODS
    parts["invoke"] = {
        "status": "ok" if enabled else "degraded",
        "message": "invocations run" if enabled else "web3.resources.invoke is switched off on this market",
    }
    return {
        **figures,
        "openSettlements": open_settlements,
        "openSession": session,
        "brain": brain_choice,
        "parts": parts,
    }


@method(
    name="web3.billing.summary",
    summary="Billing status plus income, expense, net and recent settlements.",
    group="billing",
    read_only=True,
    params=EmptyParams,
    result=BillingSummaryResult,
)
def billing_summary(call, params):
    return {
        **ledger_selectors.money_figures(call.actor_id),
        "openSettlements": ledger_selectors.open_settlements(call.actor_id).count(),
        "recentSettlements": ledger_selectors.recent_settlements(call.actor_id),
    }
