"""The economics an actor reads on its dashboard, and the landing page's live figures.

income = amounts released or transferred to the actor, expense = released or transferred from
it (a lock is not an expense until released; deposits and withdrawals are neither), as in
web3.ledger.summary. Every amount is in minor units; every figure is a fixed number of queries,
whatever the number of transfers: the flows, the daily series and the top lists read the actor's
hourly totals (market.models.AccountHour, written by the ledger with each transfer), and only the
part of each window before its first whole hour is read from the transfers themselves (at most an
hour of them), so the 24 h / 7 d / 30 d figures stay exact to the transfer. The top lists count
whole hours (the last 30 days from the first whole hour)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import F, Q, Sum
from django.utils import timezone

from market.models import (
    Account,
    AccountHour,
    BalanceThreshold,
    Resource,
    Session,
    Settlement,
    TaskOrder,
    Transfer,
    Withdrawal,
)
from market.models.account_hours import NO_RESOURCE
from market.money import currencies

RELEASES = (Transfer.Kind.POSTED, Transfer.Kind.POST_PENDING)
SETTLED_CODES = (Transfer.Code.ESCROW_RELEASE, Transfer.Code.TRANSFER)
WINDOWS = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))
RUNWAY_WINDOW_DAYS = 7
# A task award's settlement reference is task:<taskId>; the range [task:, task;) holds exactly those.
AWARD_REFERENCE, AWARD_REFERENCE_END = "task:", "task;"


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


HOUR = 3600


def _hour(at: datetime) -> int:
    """The hour (since the epoch, UTC) that `at` falls in, as market.models.AccountHour counts it."""
    return int(at.timestamp()) // HOUR


def _hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * HOUR, tz=UTC)


def _first_whole_hour(at: datetime) -> int:
    hour = _hour(at)
    return hour if _hour_start(hour) >= at else hour + 1


def _hourly(account_ids: list[int], since_hour: int) -> dict[str, list[tuple[int, int, int]]]:
    """Per currency, (hour, income, expense) of the actor's hours since `since_hour`: one query over
    at most one row per hour and counterparty, whatever the number of transfers."""
    rows = (
        AccountHour.objects.filter(account_id__in=account_ids, hour__gte=since_hour)
        .values("currency", "hour")
        .annotate(income=Sum("income"), expense=Sum("expense"))
        .order_by()
    )
    out: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for row in rows:
        out[row["currency"]].append((row["hour"], row["income"], row["expense"]))
    return out


def _edges(account_ids: list[int], now: datetime) -> dict[str, dict[str, Flow]]:
    """Per currency and window, what the transfers before the window's first whole hour add (the
    hour buckets count whole hours): one query per window and side, each a range of at most an hour
    of that side's (account, created_at) index."""
    found: dict[str, dict[str, list[int]]] = defaultdict(lambda: {name: [0, 0] for name, _ in WINDOWS})
    for name, span in WINDOWS:
        since = now - span
        edge = Q(created_at__gte=since, created_at__lt=_hour_start(_first_whole_hour(since)))
        for index, (side, _) in enumerate(SIDES):
            rows = (
                Transfer.objects.filter(_settled(), edge, _mine(side, account_ids))
                .values("currency")
                .annotate(total=Sum("amount"))
                .order_by()
            )
            for row in rows:
                found[row["currency"]][name][index] += row["total"] or 0
    return {c: {name: Flow(*flows[name]) for name, _ in WINDOWS} for c, flows in found.items()}


def _windows(hours: list[tuple[int, int, int]], edges: dict[str, Flow], now: datetime) -> dict[str, Flow]:
    out = {}
    for name, span in WINDOWS:
        first = _first_whole_hour(now - span)
        edge = edges.get(name, Flow())
        out[name] = Flow(
            edge.income + sum(i for h, i, _ in hours if h >= first),
            edge.expense + sum(e for h, _, e in hours if h >= first),
        )
    return out


def _daily(hours: list[tuple[int, int, int]], start_hour: int) -> dict[date, list[int]]:
    """Per day in the current (the viewer's) time zone, income and expense: each hour counts on the
    day it begins on (exact in every zone whose offset is whole hours)."""
    out: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for hour, income, expense in hours:
        if hour >= start_hour:
            day = timezone.localtime(_hour_start(hour)).date()
            out[day][0] += income
            out[day][1] += expense
    return out


def _open_held(qs) -> dict[str, int]:
    rows = qs.values("currency").annotate(total=Sum(F("locked") - F("released") - F("refunded"))).order_by()
    return {row["currency"]: row["total"] or 0 for row in rows}


def _reserved(actor_id: str, pending: dict[str, int]) -> dict[str, Reserved]:
    """The account's pending debits by what holds them, each part read from the few rows that make
    it: open prepaid sessions (what their lock still holds: the budget less what was released to
    providers), task awards (open settlements whose reference is `task:...`, a range of the payer's
    index), withdrawals on their way out (`other`); the rest is what open leases hold (every other
    settlement is a lease's), so no part reads every open lease and the parts add up exactly."""
    open_settlements = Settlement.objects.filter(payer_actor_id=actor_id, status__in=Settlement.OPEN)
    # From the owner's open sessions (their index), each to its settlement by id.
    sessions = {
        row["currency"]: row["total"] or 0
        for row in Session.objects.filter(
            owner_actor_id=actor_id,
            status=Session.Status.OPEN,
            mode=Session.Mode.PREPAID,
            settlement__status__in=Settlement.OPEN,
        )
        .values("currency")
        .annotate(total=Sum(F("settlement__locked") - F("settlement__released") - F("settlement__refunded")))
        .order_by()
    }
    awards = _open_held(open_settlements.filter(reference__gte=AWARD_REFERENCE, reference__lt=AWARD_REFERENCE_END))
    withdrawals = dict(
        Withdrawal.objects.filter(actor_id=actor_id, status__in=Withdrawal.LIVE)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("currency", "total")
    )
    out: dict[str, Reserved] = defaultdict(Reserved)
    for currency, held in pending.items():
        reserved = out[currency]
        reserved.session, reserved.award = sessions.get(currency, 0), awards.get(currency, 0)
        reserved.other = withdrawals.get(currency, 0)
        reserved.lease = held - reserved.session - reserved.award - reserved.other
    return out


SIDES = (("credit", "income"), ("debit", "expense"))


def _top(account_ids: list[int], since_hour: int, limit: int, side: str, group: dict[str, F]) -> dict[str, list[dict]]:
    """The largest sums of the actor's income (side credit) or expense (debit) since `since_hour`,
    grouped by `group`, per currency: one query over the actor's hours."""
    label = dict(SIDES)[side]
    rows = (
        AccountHour.objects.filter(account_id__in=account_ids, hour__gte=since_hour)
        .exclude(**({"resource_ref": NO_RESOURCE} if "ref" in group else {}))
        .values("currency", **group)
        .annotate(total=Sum(label))
        .filter(total__gt=0)
        .order_by("-total", *group)
    )
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows[: limit * 4]:
        if len(out[row["currency"]]) >= limit:
            continue
        out[row["currency"]].append({**{k: row[k] for k in group}, "direction": label, "total": row["total"]})
    return out


def _merge(*parts: dict[str, list[dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for part in parts:
        for currency, rows in part.items():
            out[currency] += rows
    return out


def _top_counterparties(account_ids: list[int], since_hour: int, limit: int) -> dict[str, list[dict]]:
    """Who paid the actor most and whom it paid most."""
    group = {"actor_id": F("counterparty__actor_id")}
    return _merge(*(_top(account_ids, since_hour, limit, side, group) for side, _ in SIDES))


def _top_resources(account_ids: list[int], since_hour: int, limit: int) -> dict[str, list[dict]]:
    """The resources the actor earned most from (as provider) or spent most on (as consumer):
    releases of their leases' settlements."""
    group = {"ref": F("resource_ref")}
    found = _merge(*(_top(account_ids, since_hour, limit, side, group) for side, _ in SIDES))
    refs = {r["ref"] for rows in found.values() for r in rows}
    names = {
        pk: (rid, name)
        for pk, rid, name in Resource.objects.filter(pk__in=refs).values_list("pk", "resource_id", "name")
    }
    out: dict[str, list[dict]] = defaultdict(list)
    for currency, rows in found.items():
        for r in rows:
            if r["ref"] in names:
                rid, name = names[r["ref"]]
                out[currency].append(
                    {"resource_id": rid, "name": name, "direction": r["direction"], "total": r["total"]}
                )
    return out


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
    # Days in the current (the viewer's) time zone.
    start = timezone.localtime(now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    start_hour = _hour(start)
    since_hour = _first_whole_hour(now - timedelta(days=days))
    hourly = _hourly(ids, min(start_hour, since_hour, *(_first_whole_hour(now - span) for _, span in WINDOWS)))
    edges, reserved = _edges(ids, now), _reserved(actor_id, {a.currency: a.debits_pending for a in own})
    thresholds = dict(BalanceThreshold.objects.filter(actor_id=actor_id).values_list("currency", "amount"))
    parties, resources = _top_counterparties(ids, since_hour, top), _top_resources(ids, since_hour, top)
    today = timezone.localdate(now)
    out = []
    for currency in dict.fromkeys([*currencies(), *accounts]):
        hours = hourly.get(currency, [])
        flows = _windows(hours, edges.get(currency, {}), now)
        daily = _daily(hours, start_hour)
        series = []
        for offset in range(days - 1, -1, -1):
            day = today - timedelta(days=offset)
            income, expense = daily.get(day, [0, 0])
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
