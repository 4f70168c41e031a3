"""The economics an actor reads on its dashboard, and the landing page's live figures.

income = amounts released or transferred to the actor, expense = released or transferred from
it (a lock is not an expense until released; deposits and withdrawals are neither), as in
web3.ledger.summary. Every amount is in minor units; every figure is a fixed number of queries,
whatever the number of transfers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from market.models import Account, BalanceThreshold, Resource, Settlement, TaskOrder, Transfer
from market.money import currencies

RELEASES = (Transfer.Kind.POSTED, Transfer.Kind.POST_PENDING)
SETTLED_CODES = (Transfer.Code.ESCROW_RELEASE, Transfer.Code.TRANSFER)
WINDOWS = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))
RUNWAY_WINDOW_DAYS = 7
# What an open settlement of the actor's reserves funds for, by its reference's prefix.
RESERVED_KINDS = (("lease", "lease:"), ("award", "task:"), ("session", "session:"))


def _settled() -> Q:
    return Q(kind__in=RELEASES, code__in=SETTLED_CODES)


def _mine(side: str, account_ids: list[int]) -> Q:
    """Transfers crediting (or debiting) one of the actor's accounts, by account id: no join, and
    each side reads its own (account, created_at) index."""
    return Q(**{f"{side}_account_id__in": account_ids})


def _touching(account_ids: list[int], since: datetime) -> Q:
    return _settled() & Q(created_at__gte=since) & (_mine("credit", account_ids) | _mine("debit", account_ids))


@dataclass(frozen=True)
class Flow:
    income: int = 0
    expense: int = 0

    @property
    def net(self) -> int:
        return self.income - self.expense


@dataclass
class Reserved:
    lease: int = 0
    award: int = 0
    session: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.lease + self.award + self.session + self.other


@dataclass
class CurrencyEconomics:
    currency: str
    available: int
    reserved: Reserved
    windows: dict[str, Flow]
    daily: list[tuple[date, int, int]]  # (day, income, expense), oldest first
    threshold: int | None = None
    runway_days: int | None = None  # None: nothing spent in the last 7 days
    spend_per_day: int = 0
    top_counterparties: list[dict] = field(default_factory=list)
    top_resources: list[dict] = field(default_factory=list)

    @property
    def low_balance(self) -> bool:
        return self.threshold is not None and self.available < self.threshold


def _windows(account_ids: list[int], now: datetime) -> dict[str, dict[str, Flow]]:
    """Per currency and window, income and expense: one query with one sum per (window, side)."""
    sums = {}
    for name, span in WINDOWS:
        recent = Q(created_at__gte=now - span)
        for side, label in (("credit", "income"), ("debit", "expense")):
            sums[f"{label}_{name}"] = Sum(
                Case(When(recent & _mine(side, account_ids), then=F("amount")), default=Value(0)),
                output_field=IntegerField(),
            )
    oldest = now - max(span for _, span in WINDOWS)
    rows = Transfer.objects.filter(_touching(account_ids, oldest)).values("currency").annotate(**sums)
    out: dict[str, dict[str, Flow]] = {}
    for row in rows:
        out[row["currency"]] = {
            name: Flow(row[f"income_{name}"] or 0, row[f"expense_{name}"] or 0) for name, _ in WINDOWS
        }
    return out


def _daily(account_ids: list[int], now: datetime, days: int) -> dict[str, dict[date, list[int]]]:
    # Days in the current (the viewer's) time zone, as TruncDate counts them.
    start = timezone.localtime(now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Transfer.objects.filter(_touching(account_ids, start))
        .annotate(day=TruncDate("created_at"))
        .values("currency", "day")
        .annotate(
            income=Sum(Case(When(_mine("credit", account_ids), then=F("amount")), default=Value(0))),
            expense=Sum(Case(When(_mine("debit", account_ids), then=F("amount")), default=Value(0))),
        )
    )
    out: dict[str, dict[date, list[int]]] = defaultdict(dict)
    for row in rows:
        out[row["currency"]][row["day"]] = [row["income"] or 0, row["expense"] or 0]
    return out


def _reserved(actor_id: str) -> dict[str, Reserved]:
    """The actor's open settlements as payer, what remains locked in each, by what it is for."""
    kind = Case(
        *(When(reference__startswith=prefix, then=Value(name)) for name, prefix in RESERVED_KINDS),
        default=Value("other"),
    )
    rows = (
        Settlement.objects.filter(payer_actor_id=actor_id, status__in=Settlement.OPEN)
        .annotate(part=kind)
        .values("currency", "part")
        .annotate(total=Sum(F("locked") - F("released") - F("refunded")))
    )
    out: dict[str, Reserved] = defaultdict(Reserved)
    for row in rows:
        setattr(out[row["currency"]], row["part"], row["total"] or 0)
    return out


SIDES = (("credit", "income"), ("debit", "expense"))


def _top(account_ids: list[int], since: datetime, limit: int, side: str, group: dict[str, F]) -> dict[str, list[dict]]:
    """The largest sums of the actor's released transfers on one side (credit: income, debit:
    expense) since `since`, grouped by `group`, per currency: one query."""
    label = dict(SIDES)[side]
    rows = (
        Transfer.objects.filter(_settled(), _mine(side, account_ids), created_at__gte=since)
        .values("currency", **group)
        .annotate(total=Sum("amount"))
        .order_by("-total", *group)
    )
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows[: limit * 4]:
        if row[next(iter(group))] is None or len(out[row["currency"]]) >= limit:
            continue
        out[row["currency"]].append({**{k: row[k] for k in group}, "direction": label, "total": row["total"]})
    return out


def _merge(*parts: dict[str, list[dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for part in parts:
        for currency, rows in part.items():
            out[currency] += rows
    return out


def _top_counterparties(account_ids: list[int], since: datetime, limit: int) -> dict[str, list[dict]]:
    """Who paid the actor most (the debited side of its income) and whom it paid most."""
    return _merge(
        _top(account_ids, since, limit, "credit", {"actor_id": F("debit_account__actor_id")}),
        _top(account_ids, since, limit, "debit", {"actor_id": F("credit_account__actor_id")}),
    )


def _top_resources(account_ids: list[int], since: datetime, limit: int) -> dict[str, list[dict]]:
    """The resources the actor earned most from (as provider) or spent most on (as consumer):
    releases of their leases' settlements."""
    group = {
        "resource_id": F("settlement__lease__resource__resource_id"),
        "name": F("settlement__lease__resource__name"),
    }
    return _merge(*(_top(account_ids, since, limit, side, group) for side, _ in SIDES))


def actor_economics(
    *, actor_id: str, now: datetime | None = None, days: int = 30, top: int = 5
) -> list[CurrencyEconomics]:
    """Everything the dashboard shows, per currency (every configured one, and any the actor
    holds): available and reserved (by lease, award, session), income/expense/net for 24 h, 7 d and
    30 d, a daily series, the runway at the last 7 days' spend, the low-balance threshold, and the
    top counterparties and resources."""
    now = now or timezone.now()
    own = list(Account.objects.filter(actor_id=actor_id, kind=Account.Kind.ACTOR))
    accounts, ids = {a.currency: a.available for a in own}, [a.pk for a in own]
    windows, daily, reserved = _windows(ids, now), _daily(ids, now, days), _reserved(actor_id)
    thresholds = dict(BalanceThreshold.objects.filter(actor_id=actor_id).values_list("currency", "amount"))
    since = now - timedelta(days=days)
    parties, resources = _top_counterparties(ids, since, top), _top_resources(ids, since, top)
    today = timezone.localdate(now)
    out = []
    for currency in dict.fromkeys([*currencies(), *accounts]):
        flows = windows.get(currency, {name: Flow() for name, _ in WINDOWS})
        series = []
        for offset in range(days - 1, -1, -1):
            day = today - timedelta(days=offset)
            income, expense = daily.get(currency, {}).get(day, [0, 0])
            series.append((day, income, expense))
        available = accounts.get(currency, 0)
        week_expense = flows["7d"].expense
        spend_per_day = -(-week_expense // RUNWAY_WINDOW_DAYS) if week_expense else 0
        out.append(
            CurrencyEconomics(
                currency=currency,
                available=available,
                reserved=reserved.get(currency, Reserved()),
                windows=flows,
                daily=series,
                threshold=thresholds.get(currency),
                # whole days: available / (week's expense / 7), floored, in exact integers
                runway_days=(available * RUNWAY_WINDOW_DAYS // week_expense) if week_expense else None,
                spend_per_day=spend_per_day,
                top_counterparties=parties.get(currency, []),
                top_resources=resources.get(currency, []),
            )
        )
    return out


def market_figures(now=None) -> dict:
    """The landing page's live figures: resources on offer, open tasks, volume settled in 24 h
    per currency (amounts released from escrow or transferred between actors)."""
    now = now or timezone.now()
    volume = {c: 0 for c in currencies()}
    rows = (
        Transfer.objects.filter(_settled(), created_at__gte=now - timedelta(hours=24))
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        volume[row["currency"]] = row["total"]
    return {
        "resources": Resource.objects.filter(status=Resource.Status.PUBLISHED).count(),
        "open_tasks": TaskOrder.objects.filter(status=TaskOrder.Status.OPEN).count(),
        "volume_24h": volume,
    }
