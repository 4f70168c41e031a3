"""The one hook a ruling's payout waits on.

`ruling_payout_ready(dispute)` is consulted by the dispute sweep before a ruling moves money;
`payout_wait_reason(dispute)` says what the payout is waiting for (None when nothing), for the
receipt's output. A ruling pays out only once a local signed checkpoint covers the ruling's audit
event (`dispute.ruling_event_seq`): then the ruling is provably in the log. Chain confirmation of
that checkpoint is reported beside it (market.selectors.audit.seal_state) and never waited on.
"""

from __future__ import annotations

from typing import Any

from market.models import Checkpoint

WAITING_FOR_RULING = "ruling"
WAITING_FOR_CHECKPOINT = "checkpoint"


def ruling_payout_ready(dispute: Any) -> bool:
    return payout_wait_reason(dispute) is None


def payout_wait_reason(dispute: Any) -> str | None:
    """`ruling` while no ruling event is recorded, `checkpoint` until one covers it, else None."""
    seq = getattr(dispute, "ruling_event_seq", None)
    if seq is None:
        return WAITING_FOR_RULING
    if not Checkpoint.objects.filter(tree_size__gt=seq).exists():
        return WAITING_FOR_CHECKPOINT
    return None
