"""Funds on chain, reads: an actor's deposits and withdrawals, the reconciliation's differences and
the chain figures of /metrics. No network I/O: confirmations count from the chain head the deposit
job last saw."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from market import states
from market.models import ChainCursor, Deposit, VaultReconciliation, Withdrawal
from market.money import format_amount
from market.onchain import client


def _cursor() -> ChainCursor | None:
    if not client.configured():
        return None
    return ChainCursor.objects.filter(chain_id=client.settings.WEB3_CHAIN_ID, vault=client.vault_address()).first()


def confirmations_of(block: int | None, head: int | None) -> int:
    if block is None or head is None or head < block:
        return 0
    return head - block + 1


def deposits_of(actor_id: str) -> QuerySet[Deposit]:
    return Deposit.objects.filter(actor_id=actor_id)


def withdrawals_of(actor_id: str) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(actor_id=actor_id)


def chain_head() -> int | None:
    cursor = _cursor()
    return None if cursor is None else cursor.head_block


def funds_item(row: Deposit | Withdrawal, head: int | None) -> dict[str, Any]:
    """One deposit or withdrawal as web3.funds.list shows it."""
    deposit = isinstance(row, Deposit)
    return {
        "kind": "deposit" if deposit else "withdrawal",
        "id": row.deposit_id if deposit else row.withdrawal_id,
        "status": row.status,
        "currency": row.currency,
        "amount": row.amount,
        "token": row.token,
        "chainId": row.chain_id,
        "txHash": row.tx_hash or None,
        "blockNumber": row.block_number,
        "confirmations": confirmations_of(row.block_number, head),
        "from": row.payer if deposit else None,
        "to": None if deposit else row.to_address,
        "createdAt": row.created_at,
        "finishedAt": row.created_at if deposit else row.finished_at,
    }


def funds_recent(actor_id: str, limit: int, head: int | None) -> list[dict[str, Any]]:
    """The newest `limit` deposits and withdrawals of the actor, together, newest first."""
    rows = [*deposits_of(actor_id).order_by("-pk")[:limit], *withdrawals_of(actor_id).order_by("-pk")[:limit]]
    rows.sort(key=lambda r: r.created_at, reverse=True)
    return [funds_item(r, head) for r in rows[:limit]]


def state_tables_text() -> str:
    """The deposit and withdrawal transition tables, as describe shows them."""
    parts = []
    for table in (states.DEPOSIT, states.WITHDRAWAL):
        moves = ", ".join(f"{t.source} -{t.verb}-> {t.target}" for t in table.transitions)
        parts.append(f"{table.name}: {moves}")
    return "; ".join(parts)


def reconciliation_differences() -> list[VaultReconciliation]:
    """The stored comparisons of the configured vault that differ."""
    if not client.configured():
        return []
    rows = VaultReconciliation.objects.filter(chain_id=client.settings.WEB3_CHAIN_ID, vault=client.vault_address())
    return [r for r in rows.order_by("currency") if r.onchain != r.expected]


def difference_text(row: VaultReconciliation) -> str:
    diff = row.difference
    more = "more" if diff > 0 else "less"
    return f"the vault holds {format_amount(abs(diff), row.currency)} {row.currency} {more} than the ledger's reserve"


def chain_figures() -> dict[str, int | None]:
    """For /metrics: the head lag and last processed block of the deposit job, pending withdrawals."""
    cursor = _cursor()
    pending = Withdrawal.objects.filter(status__in=Withdrawal.LIVE).count()
    if cursor is None:
        return {"head_lag": None, "last_block": None, "pending_withdrawals": pending}
    lag = None if cursor.head_block is None else max(cursor.head_block - cursor.last_block, 0)
    return {"head_lag": lag, "last_block": cursor.last_block, "pending_withdrawals": pending}


def funds_health() -> tuple[str, str]:
    """web3.status.summary's funds part, from what the jobs last stored (no network I/O)."""
    if not client.configured():
        return "ok", "funds on chain are not configured (web3.funds.* unavailable)"
    cursor = _cursor()
    if cursor is not None and cursor.reorg_detected_at is not None:
        return (
            "down",
            f"the chain reorganised below the confirmed depth at block {cursor.reorg_block}; deposits stopped",
        )
    differences = reconciliation_differences()
    if differences:
        return "down", "; ".join(difference_text(r) for r in differences)
    figures = chain_figures()
    if cursor is None:
        return "degraded", "no deposit scan has run yet"
    return "ok", (
        f"deposits read to block {figures['last_block']} ({figures['head_lag']} behind the head); "
        f"{figures['pending_withdrawals']} withdrawals pending"
    )
