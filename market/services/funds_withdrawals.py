"""Withdrawals: the funds.withdrawals job sends each requested withdrawal through the vault, from
its outbox row, in steps each safe to repeat:

  pending -> signed     estimate the vault call and read the nonce and gas price (network), then in
                        one short transaction sign and STORE the raw transaction with the market's
                        own next nonce for the operator (unique per chain and sender) before anything
                        is sent;
  signed/sent -> sent   broadcast that stored transaction; a retry sends the very same bytes, so the
                        vault pays at most once (and its withdrawalId guard is a second line);
  sent -> completed     mined with status 1 and WEB3_CHAIN_CONFIRMATIONS deep: the hold is posted to
                        the reserve;
  sent -> refunded      mined and reverted (paused, the daily limit, a token no longer allowed): that
                        transaction can never land again, so the hold is voided back to the actor;
  pending -> refunded   never signable within WEB3_WITHDRAWAL_MAX_ATTEMPTS attempts (nothing signed
                        exists, so nothing can land): voided back.
A transaction whose nonce was spent by another one goes back to pending and is signed again. An RPC
failure records the error class and the next attempt after market.backoff's schedule.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from market import states
from market.audit.chain import error_text
from market.audit.log import audit_record
from market.backoff import backoff_seconds
from market.locks import lock_account_rows, lock_withdrawal
from market.models import ChainCursor, Withdrawal
from market.money import format_amount
from market.onchain import client, outbox
from market.services.ledger import K, create_transfer

log = logging.getLogger("market.funds")
S = Withdrawal.Status
BATCH = 50


class Refused(Exception):
    """The chain refused the call (a revert on estimate): not an outage, the next one may pass."""


def _is_revert(exc: BaseException) -> bool:
    """A revert (web3's ContractLogicError; the in-process chain's TransactionFailed), not an outage."""
    from web3.exceptions import ContractLogicError

    return isinstance(exc, ContractLogicError) or type(exc).__name__ == "TransactionFailed"


def _call_data(chain: client.FundsChain, w: Withdrawal) -> str:
    w3 = chain.w3
    return chain.vault.encode_abi(
        "withdraw",
        args=[
            w3.to_checksum_address(w.token),
            w3.to_checksum_address(w.to_address),
            w.amount,
            bytes.fromhex(w.chain_ref[2:]),
        ],
    )


def withdrawal_sign(*, withdrawal_id: str, chain: client.FundsChain) -> bool:
    """Sign and store the vault call. False if it is not pending (another worker got there first)."""
    w3 = chain.w3
    w = Withdrawal.objects.get(withdrawal_id=withdrawal_id)
    if w.status != S.PENDING:
        return False
    data = _call_data(chain, w)
    call = {"from": chain.account.address, "to": chain.vault.address, "data": data}
    try:
        gas = w3.eth.estimate_gas(call)
    except Exception as exc:
        if _is_revert(exc):
            raise Refused(type(exc).__name__) from exc
        raise
    chain_nonce = w3.eth.get_transaction_count(chain.account.address, "pending")
    gas_price = w3.eth.gas_price
    try:
        with transaction.atomic():
            w = lock_withdrawal(withdrawal_id=withdrawal_id)
            if w.status != S.PENDING:
                return False
            outbox.sign_into(
                w,
                account=chain.account,
                chain_id=chain.chain_id,
                sender=chain.sender,
                chain_nonce=chain_nonce,
                tx={"to": chain.vault.address, "data": data, "gas": gas * 12 // 10 + 10_000, "gasPrice": gas_price},
            )
    except IntegrityError:
        log.info("withdrawal nonce taken by a concurrent signer; signed on the next run")
        return False
    return True


def withdrawal_broadcast(*, withdrawal_id: str, chain: client.FundsChain) -> None:
    """(Re)broadcast the stored raw transaction; an error is fine if the chain already knows it."""
    w = Withdrawal.objects.get(withdrawal_id=withdrawal_id)
    if w.status in (S.SIGNED, S.SENT):
        outbox.broadcast(w, w3=chain.w3, what=f"withdrawal {w.withdrawal_id}")


def _settle(withdrawal_id: str, verb: str, *, block_number: int | None, now: datetime, why: str) -> str:
    """Post (complete) or void (refund) the hold, with the new state and its audit event."""
    with transaction.atomic():
        w = lock_withdrawal(withdrawal_id=withdrawal_id)
        if w.status not in Withdrawal.LIVE:
            return w.status
        hold = w.hold
        lock_account_rows([hold.debit_account_id, hold.credit_account_id])
        transfer = create_transfer(
            debit_account_id=hold.debit_account_id,
            credit_account_id=hold.credit_account_id,
            amount=w.amount,
            currency=w.currency,
            kind=K.POST_PENDING if verb == "complete" else K.VOID_PENDING,
            code=hold.code,
            pending_id=hold.pk,
            reference=hold.reference,
        )
        w.block_number, w.finished_at, w.next_attempt_at = block_number, now, None
        status = states.transition(w, verb, update_fields=["block_number", "finished_at", "next_attempt_at"])
        audit_record(
            actor_id="system",
            action="funds.withdrawal_completed" if verb == "complete" else "funds.withdrawal_refunded",
            object_type="withdrawal",
            object_id=w.withdrawal_id,
            payload={
                "amount": format_amount(w.amount, w.currency),
                "currency": w.currency,
                "to": w.to_address,
                "txHash": w.tx_hash,
                "blockNumber": block_number,
                "transferId": transfer.transfer_id,
                "why": why,
            },
            parties=[w.actor_id],
        )
    if verb != "complete":
        log.warning("withdrawal %s refunded: %s", withdrawal_id, why)
    return status


def withdrawal_confirm(*, withdrawal_id: str, chain: client.FundsChain, now: datetime) -> str:
    from web3.exceptions import TransactionNotFound

    w = Withdrawal.objects.get(withdrawal_id=withdrawal_id)
    if w.status != S.SENT:
        return w.status
    try:
        receipt = chain.w3.eth.get_transaction_receipt(w.tx_hash)
    except TransactionNotFound:
        return w.status
    block = int(receipt["blockNumber"])
    if receipt["status"] != 1:
        return _settle(withdrawal_id, "refuse", block_number=block, now=now, why="the vault refused the call")
    Withdrawal.objects.filter(pk=w.pk, status=S.SENT).update(block_number=block)
    head = chain.w3.eth.block_number
    # the head any job saw last is what web3.funds.list counts confirmations from
    ChainCursor.objects.filter(chain_id=chain.chain_id, vault=client.vault_address(), head_block__lt=head).update(
        head_block=head
    )
    if head - block + 1 < client.confirmations():
        return w.status
    return _settle(withdrawal_id, "complete", block_number=block, now=now, why="confirmed")


def withdrawal_advance(*, withdrawal_id: str, chain: client.FundsChain, now: datetime) -> str:
    withdrawal_sign(withdrawal_id=withdrawal_id, chain=chain)
    withdrawal_broadcast(withdrawal_id=withdrawal_id, chain=chain)
    return withdrawal_confirm(withdrawal_id=withdrawal_id, chain=chain, now=now)


def _record_failure(withdrawal_id: str, exc: BaseException, now: datetime) -> None:
    w = Withdrawal.objects.get(withdrawal_id=withdrawal_id)
    attempts = w.attempts + 1
    text = "the vault refuses the call now" if isinstance(exc, Refused) else error_text(exc)
    if w.status == S.PENDING and attempts >= settings.WEB3_WITHDRAWAL_MAX_ATTEMPTS:
        Withdrawal.objects.filter(pk=w.pk).update(attempts=attempts, last_error=text)
        _settle(withdrawal_id, "refuse", block_number=None, now=now, why=f"not sendable after {attempts} attempts")
        return
    wait = backoff_seconds(attempts)
    Withdrawal.objects.filter(pk=w.pk).update(
        attempts=attempts, last_error=text, next_attempt_at=now + timedelta(seconds=wait)
    )
    log.error("withdrawal %s attempt %s failed: %s; next try in %ss", withdrawal_id, attempts, text, wait)


def withdrawal_sweep(*, now: datetime | None = None, chain: client.FundsChain | None = None) -> dict[str, Any]:
    """Periodic job: move every due withdrawal forward, signed ones first in nonce order; stop at
    the first RPC failure (the chain is likely unreachable), go on past a refused call."""
    if chain is None and not client.configured():
        return {"funds": "off"}
    chain = chain or client.funds_chain()
    now = now or timezone.now()
    live = Withdrawal.objects.filter(status__in=Withdrawal.LIVE)
    due = [
        *live.filter(nonce__isnull=False).order_by("nonce").values_list("withdrawal_id", "next_attempt_at")[:BATCH],
        *live.filter(nonce__isnull=True).order_by("pk").values_list("withdrawal_id", "next_attempt_at")[:BATCH],
    ]
    outcomes: dict[str, int] = {}
    for withdrawal_id, next_attempt_at in due:
        if next_attempt_at is not None and next_attempt_at > now:
            continue
        try:
            status = withdrawal_advance(withdrawal_id=withdrawal_id, chain=chain, now=now)
        except Refused as exc:
            _record_failure(withdrawal_id, exc, now)
            status = "refused"
        except Exception as exc:  # noqa: BLE001 - any RPC failure is retried later with backoff
            _record_failure(withdrawal_id, exc, now)
            outcomes["failed"] = outcomes.get("failed", 0) + 1
            break
        outcomes[str(status)] = outcomes.get(str(status), 0) + 1
    return outcomes
