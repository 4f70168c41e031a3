"""Ledger reads: balances, entries, settlements, billing figures. Visibility is enforced here."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import django_filters
from django.db.models import Q, QuerySet, Sum

from market.errors import InvalidArgument, NotFound
from market.models import Account, Settlement, Transfer
from market.money import currencies


def balances(actor_id: str) -> dict[str, dict[str, int]]:
    """Per configured currency: available, locked (pending debits) and posted balance."""
    out = {c: {"available": 0, "locked": 0, "balance": 0} for c in currencies()}
    for acc in Account.objects.filter(actor_id=actor_id, kind=Account.Kind.ACTOR):
        out[acc.currency] = {"available": acc.available, "locked": acc.locked, "balance": acc.balance}
    return out


def open_settlements(actor_id: str) -> QuerySet[Settlement]:
    return Settlement.objects.filter(
        Q(payer_actor_id=actor_id) | Q(payee_actor_id=actor_id), status__in=Settlement.OPEN
    )


def settlement_get(*, settlement_id: str, actor_id: str, is_staff: bool = False) -> Settlement:
    """Parties and staff see a settlement; for anyone else it does not exist."""
    settlement = Settlement.objects.filter(settlement_id=settlement_id).first()
    if settlement is None or not (is_staff or actor_id in (settlement.payer_actor_id, settlement.payee_actor_id)):
        raise NotFound("no such settlement")
    return settlement


class TransferFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(field_name="currency")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    reference = django_filters.CharFilter(field_name="reference")

    class Meta:
        model = Transfer
        fields = ["currency", "since", "until", "reference"]


def ledger_entries(*, actor_id: str, filters: dict[str, Any]) -> QuerySet[Transfer]:
    """Transfers that touch the actor's own accounts, newest first."""
    qs = Transfer.objects.filter(
        Q(debit_account__actor_id=actor_id, debit_account__kind=Account.Kind.ACTOR)
        | Q(credit_account__actor_id=actor_id, credit_account__kind=Account.Kind.ACTOR)
    ).select_related("debit_account", "credit_account", "settlement", "usage")
    fs = TransferFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs)
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    return fs.qs.order_by("-pk")


def lock_state(transfer: Transfer) -> str | None:
    """How an escrow lock (a pending transfer) stands, read from its settlement (loaded with the
    transfer, so a page of entries costs no query per lock): `pending` while nothing was posted and
    the settlement is open, `posted` when all of it went to the payee, `voided` when all of it went
    back, `partially_posted` when part was posted (the rest still locked, or voided). None for
    every other transfer."""
    if transfer.kind != Transfer.Kind.PENDING:
        return None
    s = transfer.settlement
    if s.released == 0:
        return "pending" if s.is_open else "voided"
    return "posted" if s.released == s.locked else "partially_posted"


def lock_holds_funds(transfer: Transfer) -> bool:
    """True for an escrow lock whose settlement still holds some of the amount."""
    return transfer.kind == Transfer.Kind.PENDING and transfer.settlement.is_open


_MOVES = (Transfer.Kind.POSTED, Transfer.Kind.POST_PENDING)
_EARNING_CODES = (Transfer.Code.ESCROW_RELEASE, Transfer.Code.TRANSFER)


def income_expense(actor_id: str) -> dict[str, dict[str, int]]:
    """income = released/transferred to the actor; expense = released/transferred from it."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"income": 0, "expense": 0})
    for c in currencies():
        out[c]
    base = Transfer.objects.filter(kind__in=_MOVES, code__in=_EARNING_CODES)
    for row in (
        base.filter(credit_account__actor_id=actor_id, credit_account__kind=Account.Kind.ACTOR)
        .values("currency")
        .annotate(total=Sum("amount"))
    ):
        out[row["currency"]]["income"] = row["total"]
    for row in (
        base.filter(debit_account__actor_id=actor_id, debit_account__kind=Account.Kind.ACTOR)
        .values("currency")
        .annotate(total=Sum("amount"))
    ):
        out[row["currency"]]["expense"] = row["total"]
    return dict(out)


def recent_settlements(actor_id: str, limit: int = 10) -> QuerySet[Settlement]:
    return Settlement.objects.filter(Q(payer_actor_id=actor_id) | Q(payee_actor_id=actor_id)).order_by("-pk")[:limit]
