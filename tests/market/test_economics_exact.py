"""The dashboard's figures (market.selectors.economics.actor_economics) against the fold of the
transfers themselves: the 24 h / 7 d / 30 d windows exact to the transfer (the hour buckets plus the
edge before each window's first whole hour), the daily series by the viewer's day in zones that
changed their offset inside the window, and the top counterparties.

Transfers are made through the ledger's services at chosen instants (time travel), among them the
instants right at each window's start and a microsecond before it, around the hours of a daylight
saving change, and around local midnights."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from market.selectors.economics import WINDOWS, actor_economics
from market.services import ledger

pytestmark = pytest.mark.django_db

ME, PAYER, PAYEE = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20
# Two days after the United States left daylight saving time (2026-11-01 06:00 UTC) and nine after
# the European Union did (2026-10-25 01:00 UTC): both changes fall inside the 30 days.
NOW = datetime(2026, 11, 3, 14, 37, 12, 500000, tzinfo=UTC)


def _instants() -> list[datetime]:
    out = []
    for _, span in WINDOWS:
        start = NOW - span
        out += [start, start + timedelta(microseconds=1), start - timedelta(microseconds=1)]
        out += [start + timedelta(minutes=20), start - timedelta(minutes=50)]
    for change in (datetime(2026, 11, 1, 6, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)):
        out += [change + timedelta(minutes=m) for m in (-61, -1, 0, 1, 59, 61)]
    for days in range(0, 31, 3):
        local_midnight = datetime(2026, 11, 3, 5, tzinfo=UTC) - timedelta(days=days)  # New York, roughly
        out += [local_midnight - timedelta(minutes=1), local_midnight + timedelta(minutes=1)]
        out.append(NOW - timedelta(days=days, hours=days % 5, minutes=7 * days))
    out += [NOW - timedelta(days=31), NOW - timedelta(seconds=1)]
    return sorted(t for t in set(out) if t <= NOW)


def _make_transfers() -> list[tuple[datetime, str, str, int]]:
    """Alternately pay PAYEE and be paid by PAYER, a different amount each time."""
    made = []
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        for actor in (ME, PAYER):
            ledger.deposit(actor_id=actor, amount=10**12, currency="USDC", reason="test funding")
    for i, at in enumerate(_instants()):
        frm, to = (ME, PAYEE) if i % 2 else (PAYER, ME)
        amount = 1000 + 37 * i
        with time_machine.travel(at, tick=False):
            ledger.transfer(from_actor_id=frm, to_actor_id=to, amount=amount, currency="USDC", by_actor_id=frm)
        made.append((at, frm, to, amount))
    return made


def test_windows_days_and_tops_equal_the_fold_of_the_transfers():
    made = _make_transfers()
    for zone in ("America/New_York", "Europe/Berlin", "UTC"):
        _check(made, zone)


def _check(made: list[tuple[datetime, str, str, int]], zone: str) -> None:
    with timezone.override(zone), time_machine.travel(NOW, tick=False):
        (usdc,) = [e for e in actor_economics(actor_id=ME, now=NOW) if e.currency == "USDC"]
        zone_info = timezone.get_current_timezone()
    # windows: every transfer at or after the window's start, to the microsecond
    for name, span in WINDOWS:
        since = NOW - span
        income = sum(a for at, _, to, a in made if to == ME and at >= since)
        expense = sum(a for at, frm, _, a in made if frm == ME and at >= since)
        assert (usdc.windows[name].income, usdc.windows[name].expense) == (income, expense), (zone, name)
    # days: by the local date of each transfer, over the last 30 local days
    daily = defaultdict(lambda: [0, 0])
    for at, _, to, amount in made:
        daily[at.astimezone(zone_info).date()][0 if to == ME else 1] += amount
    first_day = usdc.daily[0][0]
    assert len(usdc.daily) == 30 and usdc.daily[-1][0] == NOW.astimezone(zone_info).date()
    for day, income, expense in usdc.daily:
        assert [income, expense] == daily.get(day, [0, 0]), (zone, day)
    assert sum(i + e for d, (i, e) in daily.items() if d >= first_day) == sum(i + e for _, i, e in usdc.daily)
    # tops: whole hours of the last 30 days, from the first whole hour
    first_hour = (NOW - timedelta(days=30)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    paid_me = sum(a for at, _, to, a in made if to == ME and at >= first_hour)
    i_paid = sum(a for at, frm, _, a in made if frm == ME and at >= first_hour)
    assert usdc.top_counterparties == [
        {"actor_id": PAYER, "direction": "income", "total": paid_me},
        {"actor_id": PAYEE, "direction": "expense", "total": i_paid},
    ]
