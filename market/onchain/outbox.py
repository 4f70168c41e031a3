"""The chain outbox: a row that carries one signed transaction (a checkpoint's anchor, a vault
withdrawal) moves pending -> signed -> sent through its state table, and these are the steps both
kinds share:

- `sign_into`: in the caller's short transaction, take the sender's next nonce (the chain's pending
  count, or one past the highest the market has stored for that chain and sender, whichever is
  larger), sign, and STORE the raw transaction and its hash on the row before anything is sent. A
  unique (chain, sender, nonce) constraint makes a concurrent signer fail with IntegrityError.
- `broadcast`: send the stored bytes (no transaction open); a retry sends the very same bytes, and
  an error is fine when the chain already knows the transaction. If its nonce was spent by another
  transaction, it can never land: `resign` sends the row back to pending, to be signed again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import models
from django.db.models import Max

from market import states

log = logging.getLogger("market.onchain")


def hex0x(value: Any) -> str:
    """0x + lowercase hex of bytes (or of a HexBytes / hex string)."""
    text = value.hex() if hasattr(value, "hex") else str(value)
    return "0x" + text.removeprefix("0x").lower()


def tx_known(w3: Any, tx_hash: str) -> bool:
    from web3.exceptions import TransactionNotFound

    try:
        w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return False
    return True


def sign_into(
    row: models.Model, *, account: Any, chain_id: int, sender: str, chain_nonce: int, tx: dict[str, Any]
) -> None:
    """Sign `tx` (to, data, gas, gasPrice) with the sender's next nonce and store it on the locked
    `row` through its `sign` transition (in the caller's transaction)."""
    used = type(row).objects.filter(chain_id=chain_id, sender=sender).aggregate(m=Max("nonce"))["m"]
    nonce = max(chain_nonce, -1 if used is None else used + 1)
    signed = account.sign_transaction({**tx, "value": 0, "nonce": nonce, "chainId": chain_id})
    row.chain_id, row.sender, row.nonce = chain_id, sender, nonce
    row.raw_tx, row.tx_hash = hex0x(signed.raw_transaction), hex0x(signed.hash)
    states.transition(row, "sign", update_fields=["chain_id", "sender", "nonce", "raw_tx", "tx_hash"])


def broadcast(row: models.Model, *, w3: Any, what: str) -> bool:
    """(Re)broadcast the row's stored raw transaction and mark it sent. False if its nonce was spent
    by another transaction (the row is back to pending, to be signed again). The nonce is the row's
    own sender's: after a key rotation a stored transaction is the previous key's."""
    try:
        w3.eth.send_raw_transaction(row.raw_tx)
    except Exception:
        if not tx_known(w3, row.tx_hash):
            if w3.eth.get_transaction_count(w3.to_checksum_address(row.sender), "latest") > row.nonce:
                resign(row, what=what)
                return False
            raise
    states.bulk_transition(type(row).objects.filter(pk=row.pk), "broadcast")  # if still signed
    return True


def resign(row: models.Model, *, what: str) -> None:
    log.warning("%s lost its nonce to another transaction; it will be signed again", what)
    states.bulk_transition(
        type(row).objects.filter(pk=row.pk, tx_hash=row.tx_hash),
        "resign",
        nonce=None,
        raw_tx="",
        tx_hash="",
        chain_id=None,
        sender="",
    )
