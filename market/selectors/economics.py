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

from django.db.models import Q, Sum
from django.utils import timezone

from market.models import Account, Resource, TaskOrder, Transfer
from market.money import currencies
from market.selectors import economics_sql
from market.services.ledger import SETTLED_CODES, SETTLED_KINDS

WINDOWS = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))
RUNWAY_WINDOW_DAYS = 7


def _settled() -> Q:
    return Q(kind__in=SETTLED_KINDS, code__in=SETTLED_CODES)


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
EPOCH = date(1970, 1, 1)


def _hour(at: datetime) -> int:
    """The hour (since the epoch, UTC) that `at` falls in, as market.models.AccountHour counts it."""
    return int(at.timestamp()) // HOUR


def _hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * HOUR, tz=UTC)


def _first_whole_hour(at: datetime) -> int:
    hour = _hour(at)
    return hour if _hour_start(hour) >= at else hour + 1


def _offset(hour: int) -> int:
    """The current (the viewer's) time zone's UTC offset, in seconds, at the start of `hour`."""
    return int(_hour_start(hour).astimezone(timezone.get_current_timezone()).utcoffset().total_seconds())


def _zone_runs(first_hour: int, last_hour: int) -> list[tuple[int, int]]:
    """(first hour, UTC offset in seconds) of each run of hours from `first_hour` to `last_hour`
    over which the current zone keeps one offset, oldest first: one run unless the zone changed its
    offset (daylight saving) in between. Reads the offset once a day and, where it changed, finds the
    hour of the change by halving (zones change offset at most once a day)."""
    runs = [(first_hour, _offset(first_hour))]
    day = first_hour
    while day < last_hour:
        step = min(day + 24, last_hour)
        if _offset(step) != runs[-1][1]:
            low, high = day, step  # the offset at `low` is the run's; at `high`, the next one
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _offset(middle) == runs[-1][1] else (low, middle)
            runs.append((high, _offset(high)))
        day = step
    return runs


def _flows(account_ids: list[int], now: datetime, start_hour: int) -> dict[str, tuple[dict, dict]]:
    """Per currency, the whole hours of each window ({name: [income, expense]}) and the daily
    series ({day: [income, expense]} from `start_hour`, by the day in the current zone that each
    hour begins on: exact in every zone whose offset is whole hours)."""
    firsts = [_first_whole_hour(now - span) for _, span in WINDOWS]
    since = min(start_hour, *firsts)
    rows = economics_sql.flows(account_ids, since, start_hour, firsts, _zone_runs(since, _hour(now)))
    out: dict[str, tuple[dict, dict]] = defaultdict(lambda: (defaultdict(lambda: [0, 0]), {}))
    for currency, day, day_income, day_expense, *windowed in rows:
        windows, daily = out[currency]
        for index, (name, _) in enumerate(WINDOWS):
            windows[name][0] += windowed[2 * index]
            windows[name][1] += windowed[2 * index + 1]
        if day_income or day_expense:
            daily[EPOCH + timedelta(days=day)] = [day_income, day_expense]
    return out


def _edges(account_ids: list[int], now: datetime) -> dict[str, dict[str, Flow]]:
    """Per currency and window, what the transfers before the window's first whole hour add (the
    hour buckets count whole hours): at most an hour of transfers per window and side."""
    ranges = [(now - span, _hour_start(_first_whole_hour(now - span))) for _, span in WINDOWS]
    found: dict[str, list[list[int]]] = defaultdict(lambda: [[0, 0] for _ in WINDOWS])
    for currency, index, side, total in economics_sql.edges(account_ids, ranges):
        found[currency][index][side] += total
    return {c: {name: Flow(*flows[i]) for i, (name, _) in enumerate(WINDOWS)} for c, flows in found.items()}


def _windows(hours: dict[str, list[int]], edges: dict[str, Flow]) -> dict[str, Flow]:
    out = {}
    for name, _ in WINDOWS:
        edge, (income, expense) = edges.get(name, Flow()), hours.get(name, [0, 0])
        out[name] = Flow(edge.income + income, edge.expense + expense)
    return out


def _holds(actor_id: str, pending: dict[str, int]) -> tuple[dict[str, Reserved], dict[str, int]]:
    """The account's pending debits by what holds them (open prepaid sessions: what their lock
    still holds; task awards; withdrawals on their way out, `other`; the rest is what open leases
    hold, every other settlement being a lease's, so the parts add up exactly without reading every
    open lease), and the low-balance thresholds by currency."""
    parts: dict[str, dict[str, int]] = defaultdict(dict)
    for part, currency, amount in economics_sql.holds(actor_id):
        parts[part][currency] = amount or 0
    out: dict[str, Reserved] = defaultdict(Reserved)
    for currency, held in pending.items():
        reserved = out[currency]
        reserved.session = parts["session"].get(currency, 0)
        reserved.award = parts["award"].get(currency, 0)
        reserved.other = parts["withdrawal"].get(currency, 0)
        reserved.lease = held - reserved.session - reserved.award - reserved.other
    return out, parts["threshold"]


TOP_LISTS = ("counterparty_income", "counterparty_expense", "resource_income", "resource_expense")


def _tops(account_ids: list[int], since_hour: int, limit: int) -> tuple[dict, dict]:
    """Per currency, who paid the actor most and whom it paid most, and the resources it earned
    most from (as provider) or spent most on (as consumer), since `since_hour`."""
    parties: dict[str, list[dict]] = defaultdict(list)
    resources: dict[str, list[dict]] = defaultdict(list)
    order = {part: i for i, part in enumerate(TOP_LISTS)}
    rows = sorted(economics_sql.tops(account_ids, since_hour), key=lambda r: (order[r[0]], r[1], -r[4], r[2]))
    taken: dict[tuple[str, str], int] = defaultdict(int)
    for part, currency, key, name, total in rows:
        if taken[part, currency] >= limit:
            continue
        taken[part, currency] += 1
        kind, direction = part.split("_")
        if kind == "counterparty":
            parties[currency].append({"actor_id": key, "direction": direction, "total": total})
        else:
            resources[currency].append({"resource_id": key, "name": name, "direction": direction, "total": total})
    return parties, resources


def actor_economics(
    *, actor_id: str, now: datetime | None = None, days: int = 30, top: int = 5
) -> list[CurrencyEconomics]:
    """Everything the dashboard shows, per currency (every configured one, and any the actor
    holds): available and reserved (by lease, award, session), income/expense/net for 24 h, 7 d and
    30 d, a daily series, the runway at the last 7 days' spend, the low-balance threshold, and the
    top counterparties and resources. Five statements, whatever the number of transfers."""
    now = now or timezone.now()
    own = list(Account.objects.filter(actor_id=actor_id, kind=Account.Kind.ACTOR))
    accounts, ids = {a.currency: a.available for a in own}, [a.pk for a in own]
    # Days in the current (the viewer's) time zone.
    start = timezone.localtime(now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    start_hour = _hour(start)
    since_hour = _first_whole_hour(now - timedelta(days=days))
    flows_by_currency = _flows(ids, now, start_hour) if ids else {}
    edges = _edges(ids, now) if ids else {}
    reserved, thresholds = _holds(actor_id, {a.currency: a.debits_pending for a in own})
    parties, resources = _tops(ids, since_hour, top) if ids else ({}, {})
    today = timezone.localdate(now)
    out = []
    for currency in dict.fromkeys([*currencies(), *accounts]):
        hours, daily = flows_by_currency.get(currency, ({}, {}))
        flows = _windows(hours, edges.get(currency, {}))
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
