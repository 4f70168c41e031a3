"""The stored overview: what the overview job computed, kept so that the operator's overview is
read in one query however large the market grows (market.models.OverviewSnapshot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from market.models import OverviewSnapshot

OVERVIEW_ROW = 1


def overview_snapshot_store(*, figures: dict[str, Any], computed_at: datetime, took_ms: int) -> OverviewSnapshot:
    """Replace the stored overview (one row; two jobs at once leave the later one's figures)."""
    snapshot, _ = OverviewSnapshot.objects.update_or_create(
        id=OVERVIEW_ROW, defaults={"figures": figures, "computed_at": computed_at, "took_ms": took_ms}
    )
    return snapshot


def overview_snapshot() -> OverviewSnapshot | None:
    return OverviewSnapshot.objects.filter(id=OVERVIEW_ROW).first()
