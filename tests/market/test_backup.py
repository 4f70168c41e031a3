"""manage.py backup and restore: a round trip brings back exactly the data of the backup, and
verify_audit is clean on what was restored (SQLite's online backup API; pg_dump and pg_restore
when the suite runs on PostgreSQL)."""

from __future__ import annotations

import io
import json
import shutil
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max

from market.models import AuditEvent
from tests.conftest import is_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _pg_tools():
    if is_postgres() and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed")


def available(api) -> str:
    return api.call("web3.ledger.summary").result["USDC"]["available"]


def test_restore_brings_back_the_backup_and_verifies_it(sign_in, tmp_path):
    # given a funded actor and a backup taken then
    alice = sign_in()
    run("credit", alice.actor_id, "40", "USDC")
    written = run("backup", str(tmp_path / "b1"))
    manifest = json.loads((tmp_path / "b1" / "manifest.json").read_text())

    # and the market moves on after the backup
    run("credit", alice.actor_id, "2.5", "USDC")
    assert available(alice) == "42.500000"

    # when the backup is restored
    out = run("restore", str(tmp_path / "b1"), "--yes")

    # then the data is the backup's, and verify_audit is clean on it
    assert available(alice) == "40.000000"
    assert "verify_audit: ok" in out
    assert run("verify_audit").strip() == "ok"
    assert f"audit head seq {manifest['auditHeadSeq']}" in written
    assert manifest["store"] == ("postgresql" if is_postgres() else "sqlite")
    assert AuditEvent.objects.aggregate(head=Max("seq"))["head"] == manifest["auditHeadSeq"] is not None
    # the copy and its manifest are readable by their owner only, and no path is printed
    for name in (manifest["file"], "manifest.json"):
        assert stat.S_IMODE((tmp_path / "b1" / name).stat().st_mode) == 0o600
    assert str(tmp_path) not in written + out

    # and the market goes on from there
    run("credit", alice.actor_id, "1", "USDC")
    assert available(alice) == "41.000000"
    assert run("verify_audit").strip() == "ok"


def test_a_damaged_backup_is_refused_before_anything_is_replaced(sign_in, tmp_path):
    # given a backup whose database file was changed after it was written
    alice = sign_in()
    run("credit", alice.actor_id, "5", "USDC")
    run("backup", str(tmp_path / "b"))
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    with (tmp_path / "b" / manifest["file"]).open("ab") as f:
        f.write(b"\0")
    run("credit", alice.actor_id, "1", "USDC")

    # when it is restored, then it is refused as damaged and the data stays as it is
    with pytest.raises(CommandError, match="damaged"):
        run("restore", str(tmp_path / "b"), "--yes")
    assert available(alice) == "6.000000"


def test_refusals_name_the_fix(db, tmp_path):
    # a folder that is not empty is not written into
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        run("backup", str(tmp_path / "full"))
    # a folder with no manifest is not a backup
    with pytest.raises(CommandError, match="no manifest.json"):
        run("restore", str(tmp_path / "full"), "--yes")
    # a backup of the other store is refused
    run("backup", str(tmp_path / "b"))
    path = tmp_path / "b" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["store"] = "sqlite" if is_postgres() else "postgresql"
    path.write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="this market runs on"):
        run("restore", str(tmp_path / "b"), "--yes")


def test_restore_says_when_the_secrets_key_differs(sign_in, tmp_path, settings):
    # given a backup whose provider secrets were sealed under another secrets key
    run("backup", str(tmp_path / "b"))
    path = tmp_path / "b" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["secretsKeyId"] = "0" * 16
    path.write_text(json.dumps(manifest))

    # when it is restored, then the operator is told to restore that key too
    out = run("restore", str(tmp_path / "b"), "--yes")
    assert "sealed under another secrets key" in out
    assert "verify_audit: ok" in out
