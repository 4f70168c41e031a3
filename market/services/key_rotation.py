"""Recording a signing key's rotation in the signer history (market.models.signers).

- The checkpoint key: `checkpoint_signer_rotate` first seals what the old key may still seal
  (when the configured key is still the recorded one), then, under the sealers' lock, records the
  configured key as the signer of every checkpoint above the current tree size, with an audit
  event naming both addresses. Older checkpoints keep their signatures and verify against the
  signer recorded for their range.
- The anchor and operator keys: `chain_key_rotate` records the configured key's address with an
  audit event. The transactions already signed by the previous key stay in their outbox rows and
  are rebroadcast with their stored bytes (their nonce checked against their own sender); new ones
  are signed by whichever key the process is configured with.
Addresses only: a key never leaves the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from eth_account import Account

from market.audit import checkpoints
from market.audit.log import audit_record
from market.locks import lock_sealing
from market.models import CheckpointAnchor, SignerRecord, Withdrawal

P = SignerRecord.Purpose
KEY_SETTINGS = {
    P.CHECKPOINT: "WEB3_CHECKPOINT_KEY",
    P.ANCHOR: "WEB3_ANCHOR_PRIVATE_KEY",
    P.OPERATOR: "WEB3_OPERATOR_PRIVATE_KEY",
}


@dataclass
class Rotation:
    purpose: str
    previous: str  # '' when none was recorded
    address: str
    changed: bool
    from_tree_size: int = 0
    in_flight: int = 0  # chain keys: transactions of other (previous) keys not yet final


def configured_address(purpose: str) -> str:
    key = getattr(settings, KEY_SETTINGS[purpose])
    if not key:
        raise ValueError(f"{KEY_SETTINGS[purpose]} is not set")
    return Account.from_key(key).address.lower()


def _latest(purpose: str) -> SignerRecord | None:
    return SignerRecord.objects.filter(purpose=purpose).order_by("-pk").first()


def checkpoint_signer_rotate() -> Rotation:
    new = configured_address(P.CHECKPOINT)
    current = _latest(P.CHECKPOINT)
    if current is None or current.address == new:
        checkpoints.checkpoint_seal()  # records a fresh log's first signer; nothing when up to date
    with transaction.atomic():
        lock_sealing()
        sealed = checkpoints.last_tree_size()
        current = _latest(P.CHECKPOINT)
        if current is not None and current.address == new:
            return Rotation(P.CHECKPOINT, current.address, new, False, current.from_tree_size)
        SignerRecord.objects.create(purpose=P.CHECKPOINT, address=new, from_tree_size=sealed)
        previous = current.address if current else ""
        audit_record(
            actor_id="system",
            action="checkpoint.signer_rotated",
            object_type="signer",
            object_id=new,
            payload={"purpose": P.CHECKPOINT, "previous": previous, "signer": new, "fromTreeSize": sealed},
        )
    return Rotation(P.CHECKPOINT, previous, new, True, sealed)


def _in_flight(purpose: str, current: str) -> int:
    """Transactions signed by any other key than `current` and not yet final."""
    if purpose == P.ANCHOR:
        live = (CheckpointAnchor.Status.SIGNED, CheckpointAnchor.Status.SENT)
        return CheckpointAnchor.objects.filter(status__in=live).exclude(sender=current).count()
    live = (Withdrawal.Status.SIGNED, Withdrawal.Status.SENT)
    return Withdrawal.objects.filter(status__in=live).exclude(sender=current).count()


def chain_key_rotate(purpose: str) -> Rotation:
    new = configured_address(purpose)
    with transaction.atomic():
        current = SignerRecord.objects.select_for_update().filter(purpose=purpose).order_by("-pk").first()
        previous = current.address if current else ""
        if previous == new:
            return Rotation(purpose, previous, new, False, in_flight=_in_flight(purpose, new))
        SignerRecord.objects.create(purpose=purpose, address=new)
        audit_record(
            actor_id="system",
            action="chain_key.rotated",
            object_type="signer",
            object_id=new,
            payload={"purpose": purpose, "previous": previous, "address": new},
        )
    return Rotation(purpose, previous, new, True, in_flight=_in_flight(purpose, new))


def signer_rotate(purpose: str) -> Rotation:
    return checkpoint_signer_rotate() if purpose == P.CHECKPOINT else chain_key_rotate(purpose)


def vault_operator() -> str | None:
    """The operator the vault accepts now, read from the chain (network: never in a transaction);
    None when funds on chain are not configured or the chain cannot be read."""
    from market.onchain import client

    if not client.configured():
        return None
    try:
        return str(client.funds_chain().vault.functions.operator().call()).lower()
    except Exception:  # noqa: BLE001 - reported as unknown; the error's text may name the node
        return None
