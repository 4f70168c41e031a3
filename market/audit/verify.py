"""verify_audit: recompute from first principles everything the market derives or signs, and
name the first thing that disagrees.

In order: the audit hash chain (every event's payload digest, content hash and chain hash, and the
head; the sequencer runs first, so every committed event has its position); every checkpoint's root
from the events, its signature, and its signer against the signer history; every stored Merkle chunk
root; with a chain configured, every anchor read back from the chain; every transfer against the
audit event that records it; every account's totals from its transfers, and the balances' sum per
currency; every settlement's amounts; the leases' figures against their settlements and usage.
`problems()` runs them all; each check stops at its first problem.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from eth_account import Account as EthAccount
from eth_account.messages import encode_defunct

from market.audit import chain as chain_mod
from market.audit import merkle
from market.audit.hashchain import GENESIS_HASH, HASHED_FIELDS, content_hash, event_hash, hashed_fields
from market.audit.sequencer import ensure_sequenced
from market.canonical import sha256_text
from market.models import (
    Account,
    AuditEvent,
    AuditHead,
    Checkpoint,
    CheckpointAnchor,
    Lease,
    MerkleChunk,
    Settlement,
    SignerRecord,
    Transfer,
)
from market.money import currencies, format_amount

log = logging.getLogger("market.verify")
K = Transfer.Kind


def problems() -> Iterator[str]:
    """Every recomputation, in order; verify_audit prints the first problem."""
    yield from audit_chain_problems()
    yield from checkpoint_problems()
    yield from chunk_problems()
    yield from anchor_problems()
    yield from transfer_audit_problems()
    yield from ledger_problems()
    yield from lease_problems()
    from market.services.funds_reconcile import vault_problems

    yield from vault_problems()


# --- the hash chain -----------------------------------------------------------------------------
def _hashed_fields(ev: AuditEvent) -> dict[str, str]:
    return hashed_fields({name: getattr(ev, name) for name in HASHED_FIELDS})


def _content_problem(ev: AuditEvent) -> str | None:
    digest = content_hash(**_hashed_fields(ev))
    if sha256_text(ev.payload) != ev.payload_sha256:
        return "payload does not match its sha256"
    if digest != ev.content_hash:
        return "content hash does not match its fields"
    return None


def audit_chain_problems() -> Iterator[str]:
    ensure_sequenced()
    for ev in AuditEvent.objects.filter(seq__isnull=True).order_by("pk").iterator(chunk_size=2000):
        # written by a transaction that committed after the sequencer's run just now
        problem = _content_problem(ev)
        if problem:
            yield f"audit event (unsequenced) ({ev.event_id}): {problem}"
            return
    prev = GENESIS_HASH
    expected_seq = 0
    for ev in AuditEvent.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk_size=2000):
        if ev.seq != expected_seq:
            yield f"audit event seq {expected_seq} is missing (found {ev.seq})"
            return
        if sha256_text(ev.payload) != ev.payload_sha256:
            yield f"audit event seq {ev.seq} ({ev.event_id}): payload does not match its sha256"
            return
        if ev.prev_hash != prev:
            yield f"audit event seq {ev.seq} ({ev.event_id}): prev_hash breaks the chain"
            return
        digest = event_hash(seq=ev.seq, prev_hash=ev.prev_hash, **_hashed_fields(ev))
        if digest != ev.hash:
            yield f"audit event seq {ev.seq} ({ev.event_id}): hash does not match its fields"
            return
        problem = _content_problem(ev)
        if problem:
            yield f"audit event seq {ev.seq} ({ev.event_id}): {problem}"
            return
        prev = ev.hash
        expected_seq += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.next_seq != expected_seq or head.last_hash != prev):
        yield f"audit head (next {head.next_seq}) disagrees with the chain (next {expected_seq})"


# --- the ledger, and the audit events that record its transfers -------------------------------
def folded_totals() -> dict[int, dict[str, int]]:
    """Every account's four totals recomputed from its transfers."""
    totals: dict[int, dict[str, int]] = defaultdict(
        lambda: {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0}
    )
    for t in Transfer.objects.only("debit_account_id", "credit_account_id", "amount", "kind").iterator(chunk_size=5000):
        d, c, a = totals[t.debit_account_id], totals[t.credit_account_id], t.amount
        if t.kind == K.POSTED:
            d["debits_posted"] += a
            c["credits_posted"] += a
        elif t.kind == K.PENDING:
            d["debits_pending"] += a
            c["credits_pending"] += a
        elif t.kind == K.POST_PENDING:
            d["debits_pending"] -= a
            d["debits_posted"] += a
            c["credits_pending"] -= a
            c["credits_posted"] += a
        elif t.kind == K.VOID_PENDING:
            d["debits_pending"] -= a
            c["credits_pending"] -= a
    return totals


def ledger_problems() -> Iterator[str]:
    totals = folded_totals()
    sums: dict[str, int] = defaultdict(int)
    for acc in Account.objects.order_by("pk"):
        expected = totals.get(
            acc.pk, {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0}
        )
        actual = {k: getattr(acc, k) for k in expected}
        if actual != expected:
            yield f"account {acc} totals {actual} differ from its transfers {expected}"
            return
        if acc.kind != Account.Kind.EXTERNAL and acc.available < 0:
            yield f"account {acc} is below zero"
            return
        sums[acc.currency] += acc.balance
    for currency, total in sums.items():
        if total != 0:
            yield f"currency {currency}: balances sum to {total}, not 0"
            return
    moved: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        Transfer.objects.filter(settlement__isnull=False).values("settlement_id", "kind").annotate(total=Sum("amount"))
    ):
        moved[row["settlement_id"]][row["kind"]] = row["total"]
    for s in Settlement.objects.order_by("pk").iterator(chunk_size=2000):
        m = moved[s.pk]
        if (m[K.PENDING], m[K.POST_PENDING], m[K.VOID_PENDING]) != (s.locked, s.released, s.refunded):
            yield f"settlement {s.settlement_id}: amounts differ from its transfers"
            return
        if s.remaining < 0:
            yield f"settlement {s.settlement_id}: remaining below zero"
            return


def transfer_audit_problems() -> Iterator[str]:
    """Every transfer is recorded, with its amount, by exactly one event of the (verified) chain:
    posted transfers by their own event, escrow transfers by their settlement's event and a chain
    withdrawal's hold, post and void by its withdrawal's events (transferId).
    So a transfer edited together with its accounts' totals is still caught."""
    recorded: dict[str, AuditEvent] = {}
    events = AuditEvent.objects.filter(object_type__in=("transfer", "settlement", "withdrawal")).order_by("pk")
    for ev in events.iterator(chunk_size=2000):
        payload = json.loads(ev.payload)
        transfer_id = ev.object_id if ev.object_type == "transfer" else payload.get("transferId")
        if transfer_id:
            ev.recorded = payload
            recorded[transfer_id] = ev
    configured = currencies()
    for t in Transfer.objects.order_by("pk").iterator(chunk_size=5000):
        ev = recorded.pop(t.transfer_id, None)
        if ev is None:
            yield f"transfer {t.transfer_id} ({t.code}) has no audit event"
            return
        amount = format_amount(t.amount, t.currency) if t.currency in configured else str(t.amount)
        said = (ev.recorded.get("amount"), ev.recorded.get("currency"))
        if said != (amount, t.currency):
            yield (
                f"transfer {t.transfer_id} ({t.code} {amount} {t.currency}) differs from audit event seq "
                f"{ev.seq} ({ev.event_id}): {said[0]} {said[1]}"
            )
            return
    for transfer_id, ev in recorded.items():
        yield f"audit event seq {ev.seq} ({ev.event_id}) records transfer {transfer_id}, which does not exist"
        return


# --- checkpoints, chunks, anchors --------------------------------------------------------------
def recorded_signer_for(history: list[SignerRecord], tree_size: int) -> str | None:
    """The checkpoint signer the history names for a checkpoint of `tree_size`: the latest row
    whose range starts below it."""
    signer = None
    for row in history:
        if row.from_tree_size < tree_size:
            signer = row.address
    return signer


def _checkpoint_problem(cp: Checkpoint, root_hex: str, prev: Checkpoint | None, history: list) -> str | None:
    first = prev.tree_size if prev else 0
    if cp.root != root_hex:
        return f"checkpoint {cp.tree_size}: root does not match audit events {first}..{cp.tree_size - 1}"
    try:
        signer = EthAccount.recover_message(encode_defunct(text=cp.statement), signature=cp.signature).lower()
    except Exception:  # noqa: BLE001 - eth-account raises several types for a malformed signature
        signer = None
    if signer != cp.signer:
        return f"checkpoint {cp.tree_size}: signature is not by its signer"
    if recorded_signer_for(history, cp.tree_size) != cp.signer:
        return f"checkpoint {cp.tree_size}: signed by {cp.signer}, not the signer the history records for it"
    if prev is not None and cp.created_at < prev.created_at:
        return f"checkpoint {cp.tree_size}: created before checkpoint {prev.tree_size}"
    return None


def checkpoint_problems() -> Iterator[str]:
    """One pass over the events: the root of every checkpointed prefix is compared as it passes."""
    tree = merkle.MerkleLog()
    history = list(SignerRecord.objects.filter(purpose=SignerRecord.Purpose.CHECKPOINT).order_by("pk"))
    checkpoints = iter(Checkpoint.objects.order_by("tree_size"))
    prev, cp = None, next(checkpoints, None)
    events = (
        AuditEvent.objects.filter(seq__isnull=False)
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=5000)
    )
    while cp is not None:
        while tree.size < cp.tree_size:
            digest = next(events, None)
            if digest is None:
                yield f"checkpoint {cp.tree_size}: covers audit events that do not exist (only {tree.size})"
                return
            tree.append(merkle.event_leaf(digest))
        problem = _checkpoint_problem(cp, tree.root().hex(), prev, history)
        if problem:
            yield problem
            return
        prev, cp = cp, next(checkpoints, None)


def chunk_problems() -> Iterator[str]:
    """Every stored Merkle node (market.audit.chunks: chunk roots and the nodes above them)
    recomputed from the events, in one pass: the events are folded into the perfect subtrees they
    complete (each node of every level once, n - 1 hashes in all) and each is compared with its
    stored root, if any."""
    stored: dict[tuple[int, int], str] = {
        (level, index): root for level, index, root in MerkleChunk.objects.values_list("level", "index", "root")
    }
    if not stored:
        return
    stack: list[tuple[int, bytes]] = []  # (level, root) of the right edge's complete subtrees
    seen = 0
    sequenced = AuditEvent.objects.filter(seq__isnull=False).order_by("seq").values_list("hash", flat=True)
    for digest in sequenced.iterator(chunk_size=5000):
        node = (0, merkle.event_leaf(digest))
        seen += 1
        while True:
            level, root = node
            expected = stored.pop((level, (seen >> level) - 1), None)
            if expected is not None and expected != root.hex():
                yield f"merkle chunk {(seen >> level) - 1} (level {level}): root does not match audit events"
                return
            if not stack or stack[-1][0] != level:
                break
            node = (level + 1, merkle.node_hash(stack.pop()[1], root))
        stack.append(node)
    for level, index in sorted(stored, key=lambda key: (key[1] << key[0], key))[:1]:
        yield f"merkle chunk {index} (level {level}): covers audit events that do not exist (only {seen})"


def anchor_problems() -> Iterator[str]:
    """Every anchored checkpoint's transaction, read back from the configured chain."""
    chain = chain_mod.chain()
    if chain is None:
        return
    from web3.exceptions import TransactionNotFound

    anchors = CheckpointAnchor.objects.filter(status=CheckpointAnchor.Status.ANCHORED).select_related("checkpoint")
    for anchor in anchors.order_by("checkpoint__tree_size"):
        size = anchor.checkpoint.tree_size
        try:
            tx = chain.w3.eth.get_transaction(anchor.tx_hash)
            receipt = chain.w3.eth.get_transaction_receipt(anchor.tx_hash)
        except TransactionNotFound:
            if chain.is_tester:
                log.info("anchors not checked: the in-process test chain does not outlive its process")
                return
            yield f"checkpoint {size}: anchor transaction not found on the chain"
            return
        except Exception as exc:  # noqa: BLE001 - reported without its message (may name the node)
            yield f"checkpoint {size}: {chain_mod.error_text(exc)}"
            return
        if bytes(tx["input"]) != bytes.fromhex(anchor.checkpoint.root):
            yield f"checkpoint {size}: the anchor transaction carries another root"
            return
        if str(tx["from"]).lower() != anchor.sender or receipt["status"] != 1:
            yield f"checkpoint {size}: the anchor transaction is not a successful one from the anchor key"
            return


# --- leases ------------------------------------------------------------------------------------
def lease_problems() -> Iterator[str]:
    for lease_id in (
        Lease.objects.filter(session__isnull=True)
        .exclude(spent=F("settlement__released"))
        .values_list("lease_id", flat=True)[:1]
    ):
        yield f"lease {lease_id}: spent differs from its settlement's released amount"
        return
    used = (
        Lease.objects.filter(session__isnull=True)
        .annotate(used=Coalesce(Sum("usage_entries__amount"), Value(0)))
        .exclude(used=F("spent"))
        .values_list("lease_id", flat=True)[:1]
    )
    for lease_id in used:
        yield f"lease {lease_id}: spent differs from the sum of its usage entries"
        return
    mismatched = Lease.objects.filter(
        Q(session__isnull=True)
        & (
            Q(status=Lease.Status.ACTIVE) & ~Q(settlement__status__in=Settlement.OPEN)
            | ~Q(status=Lease.Status.ACTIVE) & Q(settlement__status__in=Settlement.OPEN)
        )
    ).values_list("lease_id", "status", "settlement__status")[:1]
    for lease_id, status, settlement_status in mismatched:
        yield f"lease {lease_id} is {status} but its settlement is {settlement_status}"
        return
