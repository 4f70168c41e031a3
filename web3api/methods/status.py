"""web3.status.summary: market health by part."""

from market.selectors.brain import open_session_brain
from market.services.brain import resolution_of
from web3api import status
from web3api.registry import EmptyParams, method
from web3api.shapes.status import StatusSummaryResult


@method(
    name="web3.status.summary",
    summary="Market health by part: ok, degraded or down.",
    group="status",
    read_only=True,
    auth="actor",
    params=EmptyParams,
    result=StatusSummaryResult,
    risk="none",
    description="`brain` is the caller's current brain source (its newest open session's, web3.brain.resolve); the "
    "`brain` part tells how the market's allowlisted brains fare.",
)
def status_summary(call, params):
    summary = status.summary()
    delegation = call.agent.delegation_id if call.agent is not None else ""
    row = open_session_brain(actor_id=call.actor_id, delegation_id=delegation)
    brain = resolution_of(row) if row is not None else None
    return {"status": summary.status, "checked_at": summary.checked_at, "parts": summary.parts, "brain": brain}
