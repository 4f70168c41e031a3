"""Anchoring: each checkpoint's root goes on an EVM chain as one transaction whose input data is
the 32 root bytes (a zero-value transaction from the anchor key to itself).

Steps, each safe to repeat and each run by the periodic job (`anchor_sweep`):
  pending -> signed   read chain id, nonce and gas price (network), then in one short transaction
                      sign and STORE the raw transaction with its nonce (unique per sender and
                      chain) before anything is sent;
  signed/sent -> sent broadcast that stored raw transaction (network, no transaction open). A
                      retry rebroadcasts the very same bytes, so a checkpoint lands at most once,
                      and a lost answer is recovered by looking the transaction hash up;
  sent -> anchored    its receipt is found (status 1); `failed` if it was mined but reverted.
An RPC failure records the error class and schedules the next attempt with exponential backoff
(market.backoff, Celery's retry schedule: the row is the outbox, the periodic job its only sender,
strictly in nonce order); the market never waits on any of this.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from market import states
from market.audit import chain as chain_mod
from market.backoff import backoff_seconds
from market.locks import lock_anchor
from market.models import Checkpoint, CheckpointAnchor
from market.onchain import outbox

log = logging.getLogger("market.anchoring")
S = CheckpointAnchor.Status
BATCH = 50


def anchors_ensure() -> int:
    """One anchor row per checkpoint (checkpoints written before a chain was configured too)."""
    missing = Checkpoint.objects.filter(anchor__isnull=True).order_by("tree_size").values_list("pk", flat=True)
    rows = [CheckpointAnchor(checkpoint_id=pk) for pk in missing]
    CheckpointAnchor.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def anchor_sign(*, anchor_id: int, chain: chain_mod.Chain) -> bool:
    """Sign and store the anchor transaction. False if another worker got there first."""
    w3 = chain.w3
    anchor = CheckpointAnchor.objects.select_related("checkpoint").get(pk=anchor_id)
    if anchor.status != S.PENDING:
        return False
    data = bytes.fromhex(anchor.checkpoint.root)
    chain_id = w3.eth.chain_id
    chain_nonce = w3.eth.get_transaction_count(chain.account.address, "pending")
    gas = w3.eth.estimate_gas({"from": chain.account.address, "to": chain.account.address, "data": data})
    gas_price = w3.eth.gas_price
    try:
        with transaction.atomic():
            anchor = lock_anchor(pk=anchor_id)
            if anchor.status != S.PENDING:
                return False
            outbox.sign_into(
                anchor,
                account=chain.account,
                chain_id=chain_id,
                sender=chain.sender,
                chain_nonce=chain_nonce,
                tx={"to": chain.account.address, "data": data, "gas": gas, "gasPrice": gas_price},
            )
    except IntegrityError:
        log.info("anchor nonce taken by a concurrent signer; retried on the next run")
        return False
    return True


def anchor_broadcast(*, anchor_id: int, chain: chain_mod.Chain) -> None:
    """(Re)broadcast the stored raw transaction; an error is fine if the chain already knows it."""
    anchor = CheckpointAnchor.objects.get(pk=anchor_id)
    if anchor.status in (S.SIGNED, S.SENT):
        what = f"anchor transaction of checkpoint {anchor.checkpoint_id}"
        outbox.broadcast(anchor, w3=chain.w3, what=what)


def anchor_confirm(*, anchor_id: int, chain: chain_mod.Chain, now: datetime) -> str:
    from web3.exceptions import TransactionNotFound

    anchor = CheckpointAnchor.objects.get(pk=anchor_id)
    if anchor.status != S.SENT:
        return anchor.status
    try:
        receipt = chain.w3.eth.get_transaction_receipt(anchor.tx_hash)
    except TransactionNotFound:
        return anchor.status
    mined = receipt["status"] == 1
    states.bulk_transition(
        CheckpointAnchor.objects.filter(pk=anchor_id),
        "confirm" if mined else "revert",
        block_number=receipt["blockNumber"],
        anchored_at=now,
        next_attempt_at=None,
    )
    status = S.ANCHORED if mined else S.FAILED
    if status == S.FAILED:
        log.error("anchor transaction of checkpoint %s reverted", anchor.checkpoint_id)
    return status


def anchor_advance(*, anchor_id: int, chain: chain_mod.Chain, now: datetime) -> str:
    anchor_sign(anchor_id=anchor_id, chain=chain)
    anchor_broadcast(anchor_id=anchor_id, chain=chain)
    return anchor_confirm(anchor_id=anchor_id, chain=chain, now=now)


def _record_failure(anchor_id: int, exc: BaseException, now: datetime) -> None:
    anchor = CheckpointAnchor.objects.get(pk=anchor_id)
    attempts = anchor.attempts + 1
    CheckpointAnchor.objects.filter(pk=anchor_id).update(
        attempts=attempts,
        last_error=chain_mod.error_text(exc),
        next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)),
    )
    log.error(
        "audit anchoring failed for checkpoint %s (attempt %s): %s; next try in %ss",
        anchor.checkpoint_id,
        attempts,
        chain_mod.error_text(exc),
        backoff_seconds(attempts),
    )


def waiting_anchors():
    return CheckpointAnchor.objects.filter(status__in=[S.PENDING, S.SIGNED, S.SENT]).order_by("checkpoint__tree_size")


def anchor_sweep(*, now: datetime | None = None) -> dict:
    """Periodic job: move every due anchor forward; stop at the first RPC failure (the chain is
    likely unreachable, and later nonces wait for earlier ones)."""
    chain = chain_mod.chain()
    if chain is None:
        return {"anchoring": "off"}
    now = now or timezone.now()
    anchors_ensure()
    anchored = failed = 0
    for anchor_id, next_attempt_at in list(waiting_anchors().values_list("pk", "next_attempt_at")[:BATCH]):
        if next_attempt_at is not None and next_attempt_at > now:
            break  # strictly in order: a later nonce never goes before an earlier one
        try:
            if anchor_advance(anchor_id=anchor_id, chain=chain, now=now) == S.ANCHORED:
                anchored += 1
        except Exception as exc:  # noqa: BLE001 - any RPC failure is retried later with backoff
            _record_failure(anchor_id, exc, now)
            failed += 1
            break
    waiting = CheckpointAnchor.objects.exclude(status=S.ANCHORED).count()
    return {"anchored": anchored, "failed": failed, "waiting": waiting}
