"""Object hashes and wallet signatures, as API.md defines them.

hash = "sha256:" + hex(sha256(RFC 8785 canonical JSON of the client-supplied fields plus the id)),
computed by market.canonical.object_hash. Which fields each object's hash covers is listed here, once:
the services hash exactly these (wire) names, and `web3.capabilities.describe` shows them as
`hashFields`. A `signature` is an EIP-191 personal_sign, by the caller's wallet, of the exact string
`hash`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_account import Account
from eth_account.messages import encode_defunct

from market.canonical import object_hash
from market.errors import AuthRequired, InvalidArgument
from market.money import format_amount

if TYPE_CHECKING:
    from market.models import Lease, Resource

__all__ = [
    "BID_HASH_FIELDS",
    "DISPUTE_HASH_FIELDS",
    "LEASE_HASH_FIELDS",
    "RESOURCE_HASH_FIELDS",
    "RESULT_HASH_FIELDS",
    "TASK_HASH_FIELDS",
    "object_hash",
    "recover_signer",
    "signed_pricing",
    "verify_signature",
]

RESOURCE_HASH_FIELDS = ["resourceId", "kind", "name", "description", "backend", "pricing", "policy", "tags"]
LEASE_HASH_FIELDS = ["leaseId", "resourceId", "maxCost", "ttlSec"]
TASK_HASH_FIELDS = [
    "taskId",
    "title",
    "requirements",
    "budget",
    "currency",
    "ttlSec",
    "reviewWindowSec",
    "requireSignatures",
]
BID_HASH_FIELDS = ["bidId", "taskId", "price", "etaSec", "note"]
RESULT_HASH_FIELDS = ["resultId", "taskId", "summary", "artifacts"]
DISPUTE_HASH_FIELDS = ["disputeId", "taskId", "reason"]


def signed_pricing(priced: Resource | Lease) -> dict[str, str]:
    """The pricing of a resource (or lease) as its hash and a signed index entry cover it:
    {unit, unitPrice, currency} as supplied, unitPrice with exactly the currency's scale, without
    the `per` that outputs derive from the unit."""
    return {
        "unit": priced.unit,
        "unitPrice": format_amount(priced.unit_price, priced.currency),
        "currency": priced.currency,
    }


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
