"""Object hashes and wallet signatures, as API.md defines them.

hash = "sha256:" + hex(sha256(RFC 8785 canonical JSON of the client-supplied fields plus the id)).
A `signature` is an EIP-191 personal_sign, by the caller's wallet, of the exact string `hash`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from eth_account import Account
from eth_account.messages import encode_defunct

from market.errors import AuthRequired, InvalidArgument


def object_hash(fields: dict[str, Any]) -> str:
    """Amounts must already be decimal strings (rfc8785 refuses integers beyond 2**53)."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(fields)).hexdigest()


def recover_signer(message: str, signature: str) -> str:
    """The lowercase address that personal_signed `message`; E_INVALID_ARGUMENT if unreadable."""
    try:
        return Account.recover_message(encode_defunct(text=message), signature=signature).lower()
    except Exception as exc:  # noqa: BLE001 - eth-account raises several types for bad input
        raise InvalidArgument.field("signature", "not a valid 65-byte signature") from exc


def verify_signature(*, message: str, signature: str, actor_id: str) -> None:
    """E_AUTH_REQUIRED unless `actor_id` signed `message`."""
    if recover_signer(message, signature) != actor_id.lower():
        raise AuthRequired("the signature is not by the caller's wallet")
