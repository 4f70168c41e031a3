"""Deposits: the funds.deposits job credits each confirmed `Deposited` log of the vault once.

Each run (network first, no transaction open):
  1. the block the cursor last finished must still have the hash it remembered; if not, the chain
     reorganised below the confirmed depth: the cursor records it (P0 alert through the invariant
     monitor, `chain_reorg`) and nothing more is credited until an operator has looked;
  2. logs are read in ranges of WEB3_CHAIN_BLOCK_RANGE blocks up to the confirmed head (a block has
     N confirmations when it and N - 1 blocks after it are on the chain), at most
     WEB3_CHAIN_MAX_RANGES ranges a run;
  3. per range, one transaction locks the cursor, checks that it still ends where the range starts
     (a concurrent run that got there first leaves nothing to do), credits every log as a ledger
     transfer from the reserve with its Deposit row (unique on chain id, tx hash and log index, the
     transfer's idempotency key too) and advances the cursor to the range's last block and hash.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from market.audit.chain import error_text
from market.audit.log import audit_record
from market.ids import new_id
from market.locks import lock_chain_cursor
from market.models import ChainCursor, Deposit
from market.money import format_amount
from market.onchain import client
from market.onchain.outbox import hex0x
from market.services.ledger import reserve_deposit

log = logging.getLogger("market.funds")
MAX_MINOR = 2**63 - 1


def cursor_for(chain_id: int, vault: str) -> ChainCursor:
    cursor, _ = ChainCursor.objects.get_or_create(
        chain_id=chain_id,
        vault=vault,
        defaults={"last_block": settings.WEB3_CHAIN_START_BLOCK - 1, "last_block_hash": ""},
    )
    return cursor


def _reorg_record(cursor_pk: int, block: int) -> None:
    with transaction.atomic():
        cursor = lock_chain_cursor(pk=cursor_pk)
        if cursor.reorg_detected_at is not None:
            return
        cursor.reorg_block, cursor.reorg_detected_at = block, timezone.now()
        cursor.save(update_fields=["reorg_block", "reorg_detected_at", "updated_at"])
        audit_record(
            actor_id="system",
            action="funds.reorg_detected",
            object_type="chain",
            object_id=f"{cursor.chain_id}:{cursor.vault}",
            payload={"block": block, "rememberedHash": cursor.last_block_hash},
        )
    log.error("chain reorganisation below the confirmed depth at block %s: deposits stopped", block)


def _decoded(chain: client.FundsChain, raw: Any) -> dict[str, Any] | None:
    event = chain.vault.events.Deposited().process_log(raw)
    currency = client.currency_of_token(event.args.token)
    amount = int(event.args.amount)
    if currency is None or not 0 < amount <= MAX_MINOR:
        log.error("a Deposited log of a token no currency names, or of an amount out of range, is not credited")
        return None
    return {
        "tx_hash": hex0x(raw["transactionHash"]),
        "log_index": int(raw["logIndex"]),
        "block_number": int(raw["blockNumber"]),
        "block_hash": hex0x(raw["blockHash"]),
        "token": event.args.token.lower(),
        "currency": currency,
        "payer": event.args.payer.lower(),
        "actor_id": event.args.actor.lower(),
        "amount": amount,
    }


def _credit(chain_id: int, d: dict[str, Any]) -> bool:
    """Credit one log, inside the range's transaction. False if it was credited before."""
    if Deposit.objects.filter(chain_id=chain_id, tx_hash=d["tx_hash"], log_index=d["log_index"]).exists():
        return False
    ref = f"chain:{chain_id}:{d['tx_hash']}:{d['log_index']}"
    transfer = reserve_deposit(
        actor_id=d["actor_id"],
        amount=d["amount"],
        currency=d["currency"],
        reason=f"deposit on chain, block {d['block_number']}",
        reference=ref,
        idempotency_key=f"deposit:{chain_id}:{d['tx_hash']}:{d['log_index']}",
    )
    deposit = Deposit.objects.create(deposit_id=new_id("dep"), chain_id=chain_id, transfer=transfer, **d)
    audit_record(
        actor_id="system",
        action="funds.deposit_credited",
        object_type="deposit",
        object_id=deposit.deposit_id,
        payload={
            "txHash": d["tx_hash"],
            "logIndex": d["log_index"],
            "blockNumber": d["block_number"],
            "actor": d["actor_id"],
            "amount": format_amount(d["amount"], d["currency"]),
            "currency": d["currency"],
            "transferId": transfer.transfer_id,
        },
        parties=[d["actor_id"]],
    )
    return True


def _credit_range(cursor_pk: int, *, start: int, end: int, end_hash: str, head: int, logs: list) -> int | None:
    """Credit a range's deposits and advance the cursor, in one transaction. None: another run moved it."""
    with transaction.atomic():
        cursor = lock_chain_cursor(pk=cursor_pk)
        if cursor.last_block != start - 1 or cursor.reorg_detected_at is not None:
            return None
        credited = sum(1 for d in logs if _credit(cursor.chain_id, d))
        cursor.last_block, cursor.last_block_hash, cursor.head_block = end, end_hash, head
        cursor.save(update_fields=["last_block", "last_block_hash", "head_block", "updated_at"])
        return credited


def _block_hash(w3: Any, number: int) -> str | None:
    from web3.exceptions import BlockNotFound

    try:
        return hex0x(w3.eth.get_block(number)["hash"])
    except BlockNotFound:
        return None


def deposit_scan(*, chain: client.FundsChain | None = None) -> dict[str, Any]:
    """Periodic job: credit the confirmed deposits not credited yet (see the module's docstring)."""
    if chain is None and not client.configured():
        return {"funds": "off"}
    chain = chain or client.funds_chain()
    try:
        return _scan(chain)
    except Exception as exc:
        log.error("deposit scan failed: %s", error_text(exc))  # noqa: TRY400 - never the message (URL)
        raise


def _scan(chain: client.FundsChain) -> dict[str, Any]:
    chain.check_chain_id()
    w3, vault = chain.w3, client.vault_address()
    cursor = cursor_for(chain.chain_id, vault)
    if cursor.reorg_detected_at is not None:
        return {"credited": 0, "reorg": cursor.reorg_block}
    if cursor.last_block_hash and _block_hash(w3, cursor.last_block) != cursor.last_block_hash:
        _reorg_record(cursor.pk, cursor.last_block)
        return {"credited": 0, "reorg": cursor.last_block}
    head = w3.eth.block_number
    confirmed = head - client.confirmations() + 1
    topic = chain.vault.events.Deposited().topic
    credited, start = 0, cursor.last_block + 1
    for _ in range(settings.WEB3_CHAIN_MAX_RANGES):
        if start > confirmed:
            break
        end = min(start + settings.WEB3_CHAIN_BLOCK_RANGE - 1, confirmed)
        raw = w3.eth.get_logs(
            {"address": w3.to_checksum_address(vault), "topics": [topic], "fromBlock": start, "toBlock": end}
        )
        end_hash = _block_hash(w3, end)
        logs = [d for d in (_decoded(chain, r) for r in raw) if d is not None]
        done = _credit_range(cursor.pk, start=start, end=end, end_hash=end_hash, head=head, logs=logs)
        if done is None:
            break  # a concurrent run is ahead: it credits the rest
        credited, start = credited + done, end + 1
    ChainCursor.objects.filter(pk=cursor.pk).update(head_block=head)
    return {"credited": credited, "lastBlock": start - 1, "head": head}
