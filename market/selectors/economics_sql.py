"""The dashboard's reads (market.selectors.economics) as four named statements, run through
Django's cursor (market.sql.execute: every execute wrapper sees them, on every database).

Why plain SQL here: the dashboard made seventeen ORM queries, and building them cost more than the
database took to answer (about 1 ms of Python each against tenths of a millisecond of SQLite), so
the page read at 8.6x the trivial console page (`bench/console.py`, 10k objects); these four
statements, each a UNION ALL of the parts the ORM asked for one by one, read the same rows through
the same indexes. One text for SQLite and PostgreSQL: CASE instead of FILTER, integer division of
integers, literals for the part names.

Each statement's rows are small and bounded: one per day and currency (flows), per window, side
and currency (edges), per part and currency (holds), at most TOP_ROWS per top list (tops).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from market import sql
from market.models import Session, Settlement, Withdrawal
from market.models.account_hours import NO_RESOURCE
from market.services.ledger import SETTLED_CODES as _CODES
from market.services.ledger import SETTLED_KINDS as _KINDS

# The transfers that count as income and expense (the ledger's, as its hourly totals count them).
RELEASES, SETTLED_CODES = tuple(sorted(_KINDS)), tuple(sorted(_CODES))
# A task award's settlement reference is task:<taskId>; the range [task:, task;) holds exactly those.
AWARD_REFERENCE, AWARD_REFERENCE_END = "task:", "task;"


def _marks(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _at(value: datetime):
    """A datetime as the database compares created_at (SQLite keeps text in UTC)."""
    return connection.ops.adapt_datetimefield_value(value)


def _ints(rows: list[tuple]) -> list[tuple]:
    # SUM of a bigint is numeric on PostgreSQL (a Decimal here); every amount is whole minor units.
    return [tuple(int(v) if v is not None and not isinstance(v, str) else v for v in row) for row in rows]


def flows(
    account_ids: list[int], since_hour: int, start_hour: int, firsts: list[int], runs: list[tuple[int, int]]
) -> list[tuple]:
    """(currency, day, income, expense, then income and expense from each of `firsts`) per day in
    the current zone, over the accounts' hours from `since_hour`; the day's own income and expense
    count the hours from `start_hour`. `runs` are (first hour, UTC offset in seconds), oldest first:
    an hour belongs to the day it begins on, at the offset of its run."""
    day_params: list[int] = []
    if len(runs) == 1:
        day = "(hour * 3600 + %s) / 86400"
        day_params.append(runs[0][1])
    else:
        whens = []
        for first, offset in reversed(runs[1:]):
            whens.append("WHEN hour >= %s THEN (hour * 3600 + %s) / 86400")
            day_params += [first, offset]
        day = f"CASE {' '.join(whens)} ELSE (hour * 3600 + %s) / 86400 END"
        day_params.append(runs[0][1])
    columns, column_params = [], []
    for first in (start_hour, *firsts):
        columns += [f"SUM(CASE WHEN hour >= %s THEN {flow} ELSE 0 END)" for flow in ("income", "expense")]
        column_params += [first, first]
    statement = (
        f"SELECT currency, {day} AS day, {', '.join(columns)} FROM market_accounthour "  # noqa: S608 - fixed names
        f"WHERE account_id IN ({_marks(account_ids)}) AND hour >= %s GROUP BY currency, day"
    )
    return _ints(sql.execute(statement, [*day_params, *column_params, *account_ids, since_hour]))


def edges(account_ids: list[int], ranges: list[tuple[datetime, datetime]]) -> list[tuple]:
    """(currency, range index, side, total): the settled transfers crediting (side 0) or debiting
    (side 1) the accounts in each [start, end) range, each part a range of that side's
    (account, created_at) index."""
    parts, params = [], []
    for index, (start, end) in enumerate(ranges):
        for side, column in enumerate(("credit_account_id", "debit_account_id")):
            parts.append(
                f"SELECT currency, {index}, {side}, SUM(amount) FROM market_transfer "  # noqa: S608 - fixed names
                f"WHERE {column} IN ({_marks(account_ids)}) AND created_at >= %s AND created_at < %s "
                f"AND kind IN ({_marks(RELEASES)}) AND code IN ({_marks(SETTLED_CODES)}) GROUP BY currency"
            )
            params += [*account_ids, _at(start), _at(end), *RELEASES, *SETTLED_CODES]
    return _ints(sql.execute(" UNION ALL ".join(parts), params))


HOLDS = (
    "SELECT 'session', s.currency, SUM(st.locked - st.released - st.refunded) FROM market_session s "
    "JOIN market_settlement st ON st.id = s.settlement_id WHERE s.owner_actor_id = %s AND s.status = %s "
    "AND s.mode = %s AND st.status IN (%s, %s) GROUP BY s.currency "
    "UNION ALL SELECT 'award', currency, SUM(locked - released - refunded) FROM market_settlement "
    "WHERE payer_actor_id = %s AND status IN (%s, %s) AND reference >= %s AND reference < %s GROUP BY currency "
    "UNION ALL SELECT 'withdrawal', currency, SUM(amount) FROM market_withdrawal "
    "WHERE actor_id = %s AND status IN (%s, %s, %s) GROUP BY currency "
    "UNION ALL SELECT 'threshold', currency, amount FROM market_balancethreshold WHERE actor_id = %s"
)


def holds(actor_id: str) -> list[tuple]:
    """(part, currency, amount): what the actor's open prepaid sessions still hold of their locks,
    its open task awards (settlements whose reference is task:...), its withdrawals on their way out,
    and its low-balance thresholds."""
    params = [
        actor_id,
        Session.Status.OPEN,
        Session.Mode.PREPAID,
        *Settlement.OPEN,
        actor_id,
        *Settlement.OPEN,
        AWARD_REFERENCE,
        AWARD_REFERENCE_END,
        actor_id,
        *Withdrawal.LIVE,
        actor_id,
    ]
    return _ints(sql.execute(HOLDS, params))


TOP_ROWS = 20  # per list, over every currency (the selector keeps the top few of each)


def tops(account_ids: list[int], since_hour: int) -> list[tuple]:
    """(list, currency, key, name, total) for the lists counterparty_income, counterparty_expense,
    resource_income and resource_expense: the largest sums of the accounts' hours since
    `since_hour` by counterparty actor (key) or by resource (key: its resourceId; name), largest
    first, TOP_ROWS at most each."""
    marks = _marks(account_ids)
    parts, params = [], []
    for flow in ("income", "expense"):
        parts.append(
            f"SELECT * FROM (SELECT 'counterparty_{flow}', h.currency, a.actor_id, '', SUM(h.{flow}) AS total "  # noqa: S608
            "FROM market_accounthour h JOIN market_account a ON a.id = h.counterparty_id "
            f"WHERE h.account_id IN ({marks}) AND h.hour >= %s GROUP BY h.currency, a.actor_id "
            f"HAVING SUM(h.{flow}) > 0 ORDER BY total DESC, a.actor_id LIMIT {TOP_ROWS}) c_{flow}"
        )
        params += [*account_ids, since_hour]
        parts.append(
            f"SELECT * FROM (SELECT 'resource_{flow}', h.currency, r.resource_id, r.name, SUM(h.{flow}) AS total "  # noqa: S608
            "FROM market_accounthour h JOIN market_resource r ON r.id = h.resource_ref "
            f"WHERE h.account_id IN ({marks}) AND h.hour >= %s AND h.resource_ref <> %s "
            f"GROUP BY h.currency, r.resource_id, r.name "
            f"HAVING SUM(h.{flow}) > 0 ORDER BY total DESC, r.resource_id LIMIT {TOP_ROWS}) r_{flow}"
        )
        params += [*account_ids, since_hour, NO_RESOURCE]
    return _ints(sql.execute(" UNION ALL ".join(parts), params))
