"""The one hook a ruling's payout waits on.

`ruling_payout_ready(dispute)` is consulted by the dispute sweep before a ruling moves money;
`payout_wait_reason(dispute)` says what the payout is waiting for (None when nothing), for the
receipt's output. The audit anchoring pipeline makes both wait for a local signed checkpoint that
covers the ruling's audit event (`dispute.ruling_event_seq`).
"""

from __future__ import annotations

from typing import Any


def ruling_payout_ready(dispute: Any) -> bool:
    return payout_wait_reason(dispute) is None


def payout_wait_reason(dispute: Any) -> str | None:
    return None
