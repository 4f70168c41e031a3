"""Re-encrypting what is stored under WEB3_SECRETS_KEY_OLD with WEB3_SECRETS_KEY (market/secrets.py).

`rotate_secrets` walks the providers' sealed endpoints and tokens, then the archive's objects, and
re-encrypts each value that is not already under the current key. Each resource is re-read under
its row lock and saved in its own short transaction, and each archive object is replaced whole, so
a run stopped anywhere leaves every value readable (under the old key or the new) and the next run
goes on where it stopped; a run with nothing left to do changes nothing. Progress is reported as
counts: no value, plain or sealed, is ever handed to the report.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction

from market import archive_store
from market.audit.log import audit_record
from market.errors import MarketError
from market.models import ArchiveObject, Resource
from market.secrets import reseal, under_current_key

BATCH = 200


@dataclass
class Progress:
    kind: str
    total: int
    done: int = 0
    rotated: int = 0
    current: int = 0  # already under the current key

    def line(self) -> str:
        return (
            f"{self.kind}: {self.done}/{self.total} checked, {self.rotated} re-encrypted, "
            f"{self.current} already current"
        )


Report = Callable[[Progress], None]


def _rotated(sealed: str) -> str | None:
    """The value re-encrypted, or None when it is empty or already under the current key."""
    if not sealed or under_current_key(sealed.encode()):
        return None
    return reseal(sealed.encode()).decode()


def resources_rotate(*, report: Report) -> Progress:
    ids = list(Resource.objects.order_by("pk").values_list("pk", flat=True))
    progress = Progress("provider secrets", len(ids))
    for start in range(0, len(ids), BATCH):
        for pk in ids[start : start + BATCH]:
            with transaction.atomic():
                r = Resource.objects.select_for_update().only("endpoint_sealed", "access_token_sealed").get(pk=pk)
                endpoint, token = _rotated(r.endpoint_sealed), _rotated(r.access_token_sealed)
                fields = []
                if endpoint is not None:
                    r.endpoint_sealed = endpoint
                    fields.append("endpoint_sealed")
                if token is not None:
                    r.access_token_sealed = token
                    fields.append("access_token_sealed")
                if fields:
                    r.save(update_fields=fields)
            progress.done += 1
            progress.rotated += bool(fields)
            progress.current += not fields
        report(progress)
    return progress


def _replace(storage, name: str, token: bytes) -> None:
    """Put `token` in place of the object `name`, never leaving it missing: a file is renamed over
    the old one; any other storage must overwrite on save (S3's file_overwrite, its default)."""
    try:
        path = storage.path(name)
    except NotImplementedError:
        path = None
    if path is not None:
        tmp = f"{path}.rotating"
        with open(tmp, "wb") as fh:
            fh.write(token)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return
    saved = storage.save(name, ContentFile(token))
    if saved != name:
        storage.delete(saved)
        raise MarketError("the archive storage does not overwrite objects; enable overwriting to rotate its key")


def archive_rotate(*, report: Report) -> Progress:
    cids = list(ArchiveObject.objects.order_by("pk").values_list("cid", flat=True))
    progress = Progress("archive objects", len(cids))
    storage = archive_store.archive_storage()
    for start in range(0, len(cids), BATCH):
        for cid in cids[start : start + BATCH]:
            name = archive_store.object_name(cid)
            try:
                with storage.open(name, "rb") as fh:
                    token = fh.read()
            except Exception:  # noqa: BLE001 - a storage's error names its files or bucket: only the CID is said
                raise MarketError(f"archive object {cid} cannot be read from the archive storage") from None
            fresh = None if under_current_key(token) else reseal(token)
            if fresh is not None:
                _replace(storage, name, fresh)
            progress.done += 1
            progress.rotated += fresh is not None
            progress.current += fresh is None
        report(progress)
    return progress


def secrets_rotate(*, report: Report) -> list[Progress]:
    """Everything under the current key; one audit event with the counts when something changed."""
    done = [resources_rotate(report=report), archive_rotate(report=report)]
    if any(p.rotated for p in done):
        audit_record(
            actor_id="system",
            action="secrets.rotated",
            object_type="secrets_key",
            object_id="WEB3_SECRETS_KEY",
            payload={p.kind: {"checked": p.done, "reencrypted": p.rotated} for p in done},
        )
    return done
