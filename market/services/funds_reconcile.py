"""Reconciliation: the vault's token balance, per currency, against the ledger.

Minus the reserve account's posted balance is what the ledger says the vault holds: credited
deposits in, completed withdrawals out. The vault's balance is read at the block the deposit job
has finished (every deposit up to it is credited, none after it), and the ledger's figure is moved
to that block: a completed withdrawal mined after it had not left the vault yet, one mined at or
before it and not completed yet (waiting for its confirmations) had. The job stores the comparison
(VaultReconciliation); the invariant monitor raises the P0 alert on any difference, naming it, and
verify_audit reports it. While a sent withdrawal's receipt is unknown the figure is not final, so
the comparison waits for the next run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from market.audit.chain import error_text
from market.models import Account, ChainCursor, VaultReconciliation, Withdrawal
from market.money import format_amount, scale_of
from market.onchain import client
from market.services.ledger import RESERVE_OWNER

log = logging.getLogger("market.funds")
S = Withdrawal.Status


def ledger_expected(currency: str, block: int) -> int | None:
    """What the vault should hold of `currency` at `block` by the ledger, or None while not final."""
    actor_id, kind = RESERVE_OWNER
    reserve = Account.objects.filter(actor_id=actor_id, kind=kind, currency=currency).first()
    held = 0 if reserve is None else -reserve.balance
    mine = Withdrawal.objects.filter(currency=currency)
    if mine.filter(status=S.SENT, block_number__isnull=True).exists():
        return None

    def total(qs) -> int:
        return qs.aggregate(s=Sum("amount"))["s"] or 0

    completed_after = total(mine.filter(status=S.COMPLETED, block_number__gt=block))
    mined_not_completed = total(mine.filter(status=S.SENT, block_number__lte=block))
    return held + completed_after - mined_not_completed


def _compare(chain: client.FundsChain, currency: str, block: int) -> tuple[int, int | None] | None:
    """(on chain, by the ledger) at `block`; None if the token's decimals are not the currency's scale."""
    contract = chain.token(currency)
    if contract.functions.decimals().call() != scale_of(currency):
        log.error("the %s token's decimals differ from the currency's scale: not reconciled", currency)
        return None
    onchain = contract.functions.balanceOf(chain.vault.address).call(block_identifier=block)
    return onchain, ledger_expected(currency, block)


def vault_problems() -> Iterator[str]:
    """For verify_audit: the vault read now, per currency, against the ledger (nothing if no chain)."""
    if not client.configured():
        return
    try:
        chain = client.funds_chain()
        cursor = ChainCursor.objects.filter(chain_id=chain.chain_id, vault=client.vault_address()).first()
        if cursor is None or cursor.last_block < 0:
            return
        for currency in client.tokens():
            compared = _compare(chain, currency, cursor.last_block)
            if compared is None:
                yield f"vault {currency}: the token's decimals are not the currency's scale"
                return
            onchain, expected = compared
            if expected is not None and onchain != expected:
                diff = onchain - expected
                more = "more" if diff > 0 else "less"
                yield (
                    f"vault {currency}: holds {format_amount(abs(diff), currency)} {currency} {more} than the "
                    f"ledger's reserve at block {cursor.last_block}"
                )
                return
    except Exception as exc:  # noqa: BLE001 - reported without its message (may name the node)
        yield f"vault: {error_text(exc)}"


def vault_reconcile(*, chain: client.FundsChain | None = None) -> dict[str, Any]:
    """Periodic job: compare and store, per configured currency."""
    if chain is None and not client.configured():
        return {"funds": "off"}
    chain = chain or client.funds_chain()
    vault = client.vault_address()
    cursor = ChainCursor.objects.filter(chain_id=chain.chain_id, vault=vault).first()
    if cursor is None or cursor.last_block < 0:
        return {"reconciled": 0}
    report: dict[str, Any] = {}
    try:
        for currency, token in client.tokens().items():
            compared = _compare(chain, currency, cursor.last_block)
            if compared is None:
                continue
            onchain, expected = compared
            if expected is None:
                report[currency] = "waiting"
                continue
            VaultReconciliation.objects.update_or_create(
                chain_id=chain.chain_id,
                vault=vault,
                currency=currency,
                defaults={
                    "token": token,
                    "block_number": cursor.last_block,
                    "onchain": onchain,
                    "expected": expected,
                    "checked_at": timezone.now(),
                },
            )
            report[currency] = format_amount(onchain - expected, currency)
            if onchain != expected:
                log.error("the vault's %s differs from the ledger by %s", currency, report[currency])
    except Exception as exc:
        log.error("vault reconciliation failed: %s", error_text(exc))  # noqa: TRY400 - never the message (URL)
        raise
    return report
