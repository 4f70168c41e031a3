"""Sealing: the audit events not yet covered by a checkpoint get a new signed checkpoint.

A checkpoint covers every event with seq < tree_size; its root is the RFC 6962 Merkle root of
their chain hashes (market.audit.merkle) and its signature is an EIP-191 personal_sign by
WEB3_CHECKPOINT_KEY of market.audit.proofs.checkpoint_statement(tree_size, root, createdAt).

Two sealers at once: each locks the first checkpoint row (the audit head before any checkpoint
exists) and re-reads the largest tree size after the lock (READ COMMITTED gives that
statement a fresh snapshot; SQLite serialises whole transactions), and the tree size is unique,
so each event is sealed by exactly one checkpoint. The sealer runs the sequencer first
(market.audit.sequencer): it seals what has a position, and every committed leaf is given one.

The signer: only the key the signer history (market.models.signers) names as current signs; the
first seal of a fresh log records its key. A key changed without `manage.py rotate_key checkpoint`
stops sealing with CheckpointSignerNotRecorded (loudly, in the sweep's log and the unsealed-events
alert) rather than signing with a key that verify_audit would refuse.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from market.audit.chunks import ChunkMismatch, LogTree, chunks_check, chunks_fill
from market.audit.hashchain import event_time_text
from market.audit.proofs import checkpoint_statement
from market.audit.sequencer import audit_sequence
from market.locks import lock_sealing
from market.models import AuditHead, Checkpoint, SignerRecord

log = logging.getLogger("market.checkpoints")


class CheckpointKeyMissing(RuntimeError):
    """WEB3_CHECKPOINT_KEY is not set (`manage.py init_keys` creates it)."""


class CheckpointSignerNotRecorded(RuntimeError):
    """The configured key is not the recorded current signer (run `manage.py rotate_key checkpoint`)."""


def checkpoint_account():
    key = settings.WEB3_CHECKPOINT_KEY
    if not key:
        raise CheckpointKeyMissing("WEB3_CHECKPOINT_KEY is not set; run manage.py init_keys")
    return Account.from_key(key)


def checkpoint_signer() -> str:
    """The lowercase address that signs checkpoints (public: clients pin it)."""
    return checkpoint_account().address.lower()


def sign_statement(statement: str) -> tuple[str, str]:
    account = checkpoint_account()
    signature = account.sign_message(encode_defunct(text=statement)).signature.hex()
    return ("0x" + signature.removeprefix("0x")), account.address.lower()


def recorded_signer() -> SignerRecord | None:
    """The current checkpoint signer of the history (the latest row), or None before the first seal."""
    return SignerRecord.objects.filter(purpose=SignerRecord.Purpose.CHECKPOINT).order_by("-pk").first()


def _check_signer(signer: str, sealed: int) -> None:
    """Under the sealers' lock: the key must be the recorded one; a fresh history records it."""
    current = recorded_signer()
    if current is None:
        SignerRecord.objects.create(purpose=SignerRecord.Purpose.CHECKPOINT, address=signer, from_tree_size=sealed)
    elif current.address != signer:
        raise CheckpointSignerNotRecorded(
            f"the checkpoint key {signer} is not the recorded signer {current.address}: "
            "run manage.py rotate_key checkpoint to record it"
        )


def last_tree_size() -> int:
    return Checkpoint.objects.aggregate(m=Max("tree_size"))["m"] or 0


def checkpoint_seal(*, now: datetime | None = None) -> Checkpoint | None:
    """Seal every committed event not yet covered. None when there is nothing new (or a concurrent
    sealer has just written this very tree size)."""
    checkpoint_account()  # fail before any work when the key is missing
    audit_sequence()
    try:
        with transaction.atomic():
            lock_sealing()
            sealed = last_tree_size()
            head = AuditHead.objects.filter(pk=1).first()
            size = head.next_seq if head else 0
            if size <= sealed:
                return None
            # The complete chunks' roots, once each (we hold the sealers' lock), checked before use:
            # a wrong stored chunk must stop the seal, not be signed into a root.
            chunks_check(since_size=sealed, size=size)
            chunks_fill(size)
            if sealed and LogTree(sealed).root().hex() != Checkpoint.objects.get(tree_size=sealed).root:
                raise ChunkMismatch(f"the stored merkle chunks no longer give checkpoint {sealed}'s root")
            root = LogTree(size).root().hex()
            created = timezone.now() if now is None else now
            statement = checkpoint_statement(size, root, event_time_text(created))
            signature, signer = sign_statement(statement)
            _check_signer(signer, sealed)
            checkpoint = Checkpoint.objects.create(
                tree_size=size,
                root=root,
                created_at=created,
                signature=signature,
                signer=signer,
            )
    except IntegrityError:
        log.info("checkpoint already written by a concurrent sealer")
        return None
    log.info("audit checkpoint sealed: tree size %s (%s new events)", size, size - sealed)
    return checkpoint


def seal_sweep() -> dict:
    """Periodic job: seal what is new."""
    checkpoint = checkpoint_seal()
    if checkpoint is None:
        return {"sealed": 0, "treeSize": last_tree_size()}
    return {"sealed": 1, "treeSize": checkpoint.tree_size}
