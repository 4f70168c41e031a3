"""Ledger reads: balances, entries, settlements, billing figures. Visibility is enforced here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import django_filters
from django.db.models import BooleanField, Case, CharField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Substr

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


LEASE_REFERENCE = "lease:"


def ledger_entries(*, actor_id: str, filters: dict[str, Any]) -> QuerySet[Transfer]:
    """Transfers that touch the actor's own accounts, newest first, each annotated with what an
    entry shows beyond its row (read in the same query, so a page costs no query per entry):
    `lease_ref` (the lease a `lease:` reference names, else None), `direction` (in when it
    credits the actor), and for an escrow lock (a pending transfer), read from its settlement:
    `holds_funds` (the settlement is still open) and `lock_state` — `pending` while nothing was
    posted and the settlement is open, `posted` when all of it went to the payee, `voided` when all
    of it went back, `partially_posted` when part was posted (the rest still locked, or voided);
    None for every other transfer."""
    qs = Transfer.objects.filter(
        Q(debit_account__actor_id=actor_id, debit_account__kind=Account.Kind.ACTOR)
        | Q(credit_account__actor_id=actor_id, credit_account__kind=Account.Kind.ACTOR)
    ).select_related("debit_account", "credit_account", "settlement", "usage")
    fs = TransferFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs)
    if not fs.is_valid():
        raise InvalidArgument("invalid filter", details={"fields": {k: str(v[0]) for k, v in fs.errors.items()}})
    is_lock = Q(kind=Transfer.Kind.PENDING)
    still_open = Q(settlement__status__in=Settlement.OPEN)
    nothing_posted = Q(settlement__released=0)
    return fs.qs.annotate(
        lease_ref=Case(
            When(reference__startswith=LEASE_REFERENCE, then=Substr("reference", len(LEASE_REFERENCE) + 1)),
            default=None,
            output_field=CharField(),
        ),
        direction=Case(When(credit_account__actor_id=actor_id, then=Value("in")), default=Value("out")),
        holds_funds=Case(
            When(is_lock & still_open, then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        lock_state=Case(
            When(~is_lock, then=None),
            When(nothing_posted & still_open, then=Value("pending")),
            When(nothing_posted, then=Value("voided")),
            When(settlement__released=F("settlement__locked"), then=Value("posted")),
            default=Value("partially_posted"),
            output_field=CharField(),
        ),
    ).order_by("-pk")


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


@dataclass(frozen=True)
class CurrencyFigures:
    """One currency of an actor's money, in minor units: what it holds (available, locked) and, in
    a summary, what moved to it (income) and from it (expense)."""

    currency: str
    available: int
    locked: int
    income: int = 0
    expense: int = 0

    @property
    def net(self) -> int:
        return self.income - self.expense


def money_figures(actor_id: str, *, flows: bool = True) -> dict[str, CurrencyFigures]:
    """Per currency (every configured one, and any other the actor holds): its balance and, with
    `flows`, its income and expense."""
    moved = income_expense(actor_id) if flows else {}
    return {
        c: CurrencyFigures(currency=c, available=b["available"], locked=b["locked"], **moved.get(c, {}))
        for c, b in balances(actor_id).items()
    }


@dataclass(frozen=True)
class AccountMove:
    """A deposit or withdrawal with the actor's available balance after it."""

    transfer: Transfer
    actor_id: str
    available: int


def account_move(transfer: Transfer, *, actor_id: str) -> AccountMove:
    return AccountMove(transfer, actor_id, balances(actor_id)[transfer.currency]["available"])


def recent_settlements(actor_id: str, limit: int = 10) -> QuerySet[Settlement]:
    return Settlement.objects.filter(Q(payer_actor_id=actor_id) | Q(payee_actor_id=actor_id)).order_by("-pk")[:limit]


def posted_imbalances() -> list[str]:
    """The currencies whose accounts' posted balances do not sum to zero (the status summary's check)."""
    sums = Account.objects.values("currency").annotate(total=Sum(F("credits_posted") - F("debits_posted")))
    return [row["currency"] for row in sums if row["total"] != 0]


def open_settlement_count() -> int:
    return Settlement.objects.filter(status__in=Settlement.OPEN).count()
