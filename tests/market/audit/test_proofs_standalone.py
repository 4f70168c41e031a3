"""The README's promise: market/audit/proofs.py checks a proof with the standard library and
eth-account only, imported from the repository without Django, or copied anywhere on its own."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from market.audit import proofs
from market.audit.checkpoints import checkpoint_seal, checkpoint_signer
from market.audit.log import audit_record
from tests.audit_support import audit_proof

REPO = Path(__file__).resolve().parents[3]
A = "0x" + "a1" * 20

# Run in a fresh interpreter: read a proof on stdin, check it and a tampered copy, and report which
# of the modules it must not need got imported.
CHECK = """
import json, sys
{import_line}
proof = json.load(sys.stdin)
verify_proof(proof, trusted_signer=sys.argv[1])
proof["event"]["action"] = "ledger.forged"
try:
    verify_proof(proof, trusted_signer=sys.argv[1])
    tampered = "accepted"
except ProofError as exc:
    tampered = str(exc)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "rfc8785", "market", "web3", "rest_framework"))
print(json.dumps({{"tampered": tampered, "loaded": loaded}}))
"""


def _sealed_proof() -> dict:
    events = [
        audit_record(
            actor_id=A,
            action="test.note",
            object_type="task",
            object_id=f"t{i}",
            payload={"i": i, "note": "é\u2028"},
            parties=[A],
        )
        for i in range(5)
    ]
    checkpoint_seal()
    return json.loads(json.dumps(audit_proof(event_id=events[3].event_id, actor_id=A)))


def _run(import_line: str, cwd: Path, proof: dict) -> dict:
    env = {"PATH": "/usr/bin:/bin"}  # no DJANGO_SETTINGS_MODULE, no PYTHONPATH
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(import_line=import_line), checkpoint_signer()],
        cwd=cwd,
        env=env,
        input=json.dumps(proof),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("where", ["repository", "copied"])
def test_a_proof_checks_with_the_standard_library_and_eth_account_only(db, tmp_path, where):
    # given: a sealed event's proof, and the verifier where a client would take it from
    proof = _sealed_proof()
    if where == "copied":
        shutil.copy(Path(proofs.__file__), tmp_path / "proofs.py")
        cwd, import_line = tmp_path, "from proofs import ProofError, verify_proof"
    else:
        cwd, import_line = REPO, "from market.audit.proofs import ProofError, verify_proof"
    # when
    answer = _run(import_line, cwd, proof)
    # then: the proof holds, a tampered one does not, and nothing but the verifier itself was imported
    assert answer["tampered"] == "event fields do not match event.hash"
    allowed = {"repository": ["market", "market.audit", "market.audit.proofs"], "copied": []}[where]
    assert answer["loaded"] == allowed
