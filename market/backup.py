"""Backup and restore of the market's database, while the market runs.

A backup is a folder: the database copy (`market.sqlite3`, from SQLite's online backup API, or
`market.pgdump`, pg_dump's custom format) and `manifest.json`, which says what the copy holds (the
store, the file's size and sha256, the audit head it ends at, the migrations applied, the id of the
secrets key its provider secrets are sealed under) so that a restore can check the copy before it
replaces anything, and say what else the operator must bring back (the keys are not in the backup:
they live in var/keys or the environment, and are kept apart on purpose).

Both copies are consistent: SQLite's backup API copies one snapshot even with writers in WAL mode;
for PostgreSQL the audit head is read in a REPEATABLE READ transaction whose snapshot pg_dump
shares (`--snapshot`), so the manifest describes exactly the rows in the dump.

`restore` checks the manifest and the file's digest, replaces the database's content, and runs
every verify_audit check on what it restored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Max
from django.utils import timezone

from market.audit.sequencer import ensure_sequenced
from market.audit.verify import problems
from market.models import AuditEvent

FORMAT = 1
MANIFEST = "manifest.json"
FILES = {"sqlite": "market.sqlite3", "postgresql": "market.pgdump"}


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def _vendor() -> str:
    if connection.vendor not in FILES:
        raise BackupError(f"backup supports SQLite and PostgreSQL, not {connection.vendor}")
    return connection.vendor


def secrets_key_id(key: str) -> str:
    """A name for the secrets key that tells two keys apart and reveals nothing of either."""
    return hashlib.sha256(b"openclaw secrets key id\0" + key.encode()).hexdigest()[:16]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_env() -> dict[str, str]:
    """libpq's environment for the configured database (the password never on a command line)."""
    s = connection.settings_dict
    env = {**os.environ, "PGDATABASE": s["NAME"]}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if s.get(key):
            env[var] = str(s[key])
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools of the server's version")
    return found


def _run(cmd: list[str], env: dict[str, str], file: Path) -> None:
    # cmd is the tool found on PATH and options built here; the one path in it is the backup file's
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{Path(cmd[0]).name} failed: {last.replace(str(file), file.name)}")


def _applied_migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        latest[app] = max(latest.get(app, name), name)
    return latest


def backup_write(*, dest: Path) -> dict:
    """Write a backup into `dest` (a new or empty folder) and return its manifest."""
    vendor = _vendor()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError("the backup folder is not empty: name a new folder")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = dest / FILES[vendor]
    # The committed leaves take their positions first, so the manifest's head covers every event the
    # backup holds (a leaf committed within the sequencer's gap would have none yet).
    ensure_sequenced()
    head = _sqlite_backup(target) if vendor == "sqlite" else _pg_backup(target)
    target.chmod(0o600)
    manifest = {
        "format": FORMAT,
        "store": vendor,
        "createdAt": timezone.now().isoformat(),
        "file": target.name,
        "size": target.stat().st_size,
        "sha256": _sha256_file(target),
        "auditHeadSeq": head,
        "migrations": _applied_migrations(),
        "secretsKeyId": secrets_key_id(settings.WEB3_SECRETS_KEY),
    }
    path = dest / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    path.chmod(0o600)
    return manifest


def _sqlite_backup(target: Path) -> int | None:
    source = sqlite3.connect(connection.settings_dict["NAME"])
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        (head,) = copy.execute(f"SELECT max(seq) FROM {AuditEvent._meta.db_table}").fetchone()  # noqa: S608
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        source.close()
    return head


def _pg_backup(target: Path) -> int | None:
    pg_dump = _pg_tool("pg_dump")
    # Held open only while pg_dump runs on its snapshot: a read-only transaction, no row locks.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        head = AuditEvent.objects.aggregate(head=Max("seq"))["head"]
        cmd = [pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={target}"]
        _run(cmd, _pg_env(), target)
    return head


def read_manifest(src: Path) -> dict:
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError("no manifest.json in the backup folder: name the folder backup wrote") from None
    except ValueError:
        raise BackupError("the backup's manifest.json is not valid JSON") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT}, the one this market reads")
    return manifest


@dataclass(frozen=True)
class Restored:
    manifest: dict
    notices: list[str]  # what the operator must still do
    problems: list[str] | None  # verify_audit's findings on the restored data; None: not run yet


def backup_restore(*, src: Path) -> Restored:
    """Replace the database's content with the backup in `src`, then verify what was restored
    (unless it needs migrating first: the notice says so)."""
    manifest = read_manifest(src)
    vendor = _vendor()
    if manifest["store"] != vendor:
        raise BackupError(f"the backup is of a {manifest['store']} database; this market runs on {vendor}")
    copy = src / manifest["file"]
    if Path(manifest["file"]).name != manifest["file"] or not copy.is_file():
        raise BackupError("the backup's database file is missing")
    if _sha256_file(copy) != manifest["sha256"]:
        raise BackupError("the backup's database file does not match its manifest's sha256: it is damaged")

    connection.close()
    if vendor == "sqlite":
        source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        live = sqlite3.connect(connection.settings_dict["NAME"])
        try:
            source.backup(live)
        finally:
            live.close()
            source.close()
    else:
        cmd = [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        _run([*cmd, "--exit-on-error", f"--dbname={connection.settings_dict['NAME']}", str(copy)], _pg_env(), copy)

    notices = []
    if manifest["secretsKeyId"] in {secrets_key_id(k) for k in settings.WEB3_SECRETS_KEY_OLD}:
        notices.append(
            "the provider secrets in this backup are sealed under a key of WEB3_SECRETS_KEY_OLD: they are "
            "readable; run manage.py rotate_secrets to re-encrypt them with the current key"
        )
    elif manifest["secretsKeyId"] != secrets_key_id(settings.WEB3_SECRETS_KEY):
        notices.append(
            "the provider secrets in this backup are sealed under another secrets key: restore that key "
            "(WEB3_SECRETS_KEY or var/keys/secrets_key) or invocations will fail"
        )
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        notices.append("the backup predates this code's migrations: run manage.py migrate, then verify_audit")
        return Restored(manifest, notices, None)
    return Restored(manifest, notices, list(problems()))
