"""web3.status.summary: market health by part."""

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
)
def status_summary(call, params):
    return status.summary()
