"""Row locks in the one fixed order: domain objects, then accounts by id, then the audit head
(audit_record takes that last). select_for_update is a no-op on SQLite, where IMMEDIATE
transactions serialise writers instead. Plain SQL (market.sql): these run on every money move."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from market import sql
from market.errors import NotFound
from market.models import Account, Settlement


def lock_settlement(settlement_id: str) -> Settlement:
    found = sql.select_for_update(Settlement, "settlement_id = %s", [settlement_id])
    if not found:
        raise NotFound("no such settlement")
    return found[0]


def lock_accounts(ids: Iterable[int]) -> dict[int, Account]:
    """Lock accounts ordered by primary key (deadlock-free across transactions)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = sql.select_for_update(Account, f"id IN ({', '.join(['%s'] * len(ids))})", ids)
    return {a.pk: a for a in rows}


def lock_account_rows(ids: Iterable[int]) -> None:
    """Lock accounts ordered by primary key, when only the lock is needed (no rows are built)."""
    ids = sorted(set(ids))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql.execute(
        f"SELECT id FROM market_account WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY id{lock}",  # noqa: S608
        ids,
    )


def lock_accounts_of(currency: str, owners: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Account]:
    """Find and lock the accounts of these (actor_id, kind) owners in one currency, ordered by
    primary key, in one query. Owners without an account are missing from the answer."""
    owners = sorted(set(owners))
    match = " OR ".join(["(actor_id = %s AND kind = %s)"] * len(owners))
    rows = sql.select_for_update(
        Account, f"currency = %s AND ({match})", [currency, *(v for owner in owners for v in owner)]
    )
    return {(a.actor_id, a.kind): a for a in rows}
