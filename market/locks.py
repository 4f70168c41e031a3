"""Row locks in the one fixed order: domain objects, then accounts by id, then the audit head
(audit_record takes that last). select_for_update is a no-op on SQLite, where IMMEDIATE
transactions serialise writers instead."""

from __future__ import annotations

from collections.abc import Iterable

from market.errors import NotFound
from market.models import Account, Settlement


def lock_settlement(settlement_id: str) -> Settlement:
    settlement = Settlement.objects.select_for_update().filter(settlement_id=settlement_id).first()
    if settlement is None:
        raise NotFound("no such settlement")
    return settlement


def lock_accounts(ids: Iterable[int]) -> dict[int, Account]:
    """Lock accounts ordered by primary key (deadlock-free across transactions)."""
    rows = Account.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    return {a.pk: a for a in rows}
