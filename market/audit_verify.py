"""verify_audit's checkpoint and anchor checks: every checkpoint's root recomputed from the events,
its signature recovered, every stored Merkle chunk root recomputed, and (with a chain configured)
every anchor read back from the chain."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from eth_account import Account
from eth_account.messages import encode_defunct

from market import chain as chain_mod
from market import merkle
from market.models import AuditEvent, Checkpoint, CheckpointAnchor, MerkleChunk

log = logging.getLogger("market.verify")


def _checkpoint_problem(cp: Checkpoint, root_hex: str, prev: Checkpoint | None) -> str | None:
    first = prev.tree_size if prev else 0
    if cp.root != root_hex:
        return (f"checkpoint {cp.tree_size}: root does not match audit events "
                f"{first}..{cp.tree_size - 1}")
    try:
        signer = Account.recover_message(encode_defunct(text=cp.statement), signature=cp.signature).lower()
    except Exception:  # noqa: BLE001 - eth-account raises several types for a malformed signature
        signer = None
    if signer != cp.signer:
        return f"checkpoint {cp.tree_size}: signature is not by its signer"
    if prev is not None and cp.created_at < prev.created_at:
        return f"checkpoint {cp.tree_size}: created before checkpoint {prev.tree_size}"
    return None


def checkpoint_problems() -> Iterator[str]:
    """One pass over the events: the root of every checkpointed prefix is compared as it passes."""
    tree = merkle.MerkleLog()
    checkpoints = iter(Checkpoint.objects.order_by("tree_size"))
    prev, cp = None, next(checkpoints, None)
    events = AuditEvent.objects.order_by("seq").values_list("hash", flat=True).iterator(chunk_size=5000)
    while cp is not None:
        while tree.size < cp.tree_size:
            digest = next(events, None)
            if digest is None:
                yield f"checkpoint {cp.tree_size}: covers audit events that do not exist (only {tree.size})"
                return
            tree.append(merkle.event_leaf(digest))
        problem = _checkpoint_problem(cp, tree.root().hex(), prev)
        if problem:
            yield problem
            return
        prev, cp = cp, next(checkpoints, None)


def chunk_problems() -> Iterator[str]:
    """Every stored chunk root (market.merkle_store) recomputed from its events, in one pass."""
    stored: dict[int, dict[int, str]] = {}
    for level, index, root in MerkleChunk.objects.values_list("level", "index", "root"):
        stored.setdefault(level, {})[index] = root
    if not stored:
        return
    buffers: dict[int, list[bytes]] = {level: [] for level in stored}
    seen = 0
    for digest in AuditEvent.objects.order_by("seq").values_list("hash", flat=True).iterator(chunk_size=5000):
        leaf = merkle.event_leaf(digest)
        seen += 1
        for level, buf in buffers.items():
            buf.append(leaf)
            if len(buf) == 1 << level:
                index = (seen >> level) - 1
                root = stored[level].pop(index, None)
                if root is not None and root != merkle.subtree_root(0, len(buf), leaf=buf.__getitem__).hex():
                    yield f"merkle chunk {index} (level {level}): root does not match audit events"
                    return
                buf.clear()
    for level, rest in stored.items():
        for index in sorted(rest)[:1]:
            yield f"merkle chunk {index} (level {level}): covers audit events that do not exist (only {seen})"
            return


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
