"""The fold of the transfers into market.models.AccountHour rows, as SQL: the migration's backfill
inserts it, the invariant monitor compares the stored rows with it (and a benchmark that inserts
transfers in bulk rebuilds its rows from it)."""

from __future__ import annotations

from django.db import connection

_HOUR = {
    "sqlite": "CAST(strftime('%s', t.created_at) AS INTEGER) / 3600",
    "postgresql": "FLOOR(EXTRACT(EPOCH FROM t.created_at) / 3600)::bigint",
}
COLUMNS = "account_id, hour, counterparty_id, resource_ref, currency, income, expense, count"


def fold_sql(vendor: str | None = None) -> str:
    """SELECT of the rows the settled transfers fold into, in COLUMNS order (no parameters)."""
    hour = _HOUR[vendor or connection.vendor]
    side = (
        "SELECT t.{mine}_account_id AS account_id, {hour} AS hour, t.{other}_account_id AS counterparty_id, "
        "COALESCE(l.resource_id, 0) AS resource_ref, t.currency AS currency, {income} AS income, "
        "{expense} AS expense FROM market_transfer t LEFT JOIN market_lease l ON l.settlement_id = t.settlement_id "
        "WHERE t.kind IN ('posted', 'post_pending') AND t.code IN ('escrow_release', 'transfer')"
    )
    credit = side.format(mine="credit", other="debit", hour=hour, income="t.amount", expense="0")
    debit = side.format(mine="debit", other="credit", hour=hour, income="0", expense="t.amount")
    return (
        "SELECT account_id, hour, counterparty_id, resource_ref, currency, SUM(income) AS income, "  # noqa: S608
        f"SUM(expense) AS expense, COUNT(*) AS count FROM ({credit} UNION ALL {debit}) x "
        "GROUP BY account_id, hour, counterparty_id, resource_ref, currency"
    )


def rebuild_sql(vendor: str | None = None) -> list[str]:
    """The statements that replace every AccountHour row with the fold of the transfers."""
    return ["DELETE FROM market_accounthour", f"INSERT INTO market_accounthour ({COLUMNS}) {fold_sql(vendor)}"]


def mismatched_accounts(limit: int = 20) -> tuple[list[int], int]:
    """Ids of the accounts whose stored hours differ from the fold of their transfers (a row
    missing, extra or with other sums), at most `limit` of them, and how many there are."""
    stored = f"SELECT {COLUMNS} FROM market_accounthour"  # noqa: S608 - fixed names
    fold = fold_sql()
    statement = (
        f"SELECT DISTINCT account_id FROM (SELECT * FROM ({stored} EXCEPT {fold}) a "  # noqa: S608
        f"UNION ALL SELECT * FROM ({fold} EXCEPT {stored}) b) d ORDER BY account_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement)
        ids = [row[0] for row in cursor.fetchall()]
    return ids[:limit], len(ids)
