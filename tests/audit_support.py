"""An inclusion proof and a seal as web3.audit.proof and a dispute's ruling show them, for tests that
read them without a request: the offline verifier takes the wire form."""

from __future__ import annotations

import json
from typing import Any

from market.selectors import audit as audit_selectors
from web3api.shapes.audit import ProofResult, SealOut


def audit_proof(**kwargs: Any) -> dict[str, Any]:
    """market.selectors.audit.audit_proof(**kwargs), as the API sends it."""
    return json.loads(json.dumps(ProofResult(audit_selectors.audit_proof(**kwargs)).data))


def seal_state(seq: int | None) -> dict[str, Any]:
    """market.selectors.audit.seal_state(seq), as a ruling's `seal` shows it."""
    return json.loads(json.dumps(SealOut(audit_selectors.seal_state(seq)).data))
