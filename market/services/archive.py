"""Archive writes: put an object (an opaque upload, or a hook's redacted content), and grant the
parties of a task result or dispute evidence that names one.

Never stores a secret the redaction knows (market.redaction). Hook content arrives redacted. An
opaque upload is not altered (its CID is the client's bytes) but refused with E_INVALID_ARGUMENT
when it holds one: any media type is read byte for byte for the credential kinds (API keys, bearer
tokens, Authorization lines, private keys, JWTs, URLs with credentials); a text or JSON media type
also for file paths, and a JSON one for secret keys' values too. A file path in a binary is too often
a false match (a PDF's /Filter/FlateDecode) to refuse on.

Sizes: at most WEB3_ARCHIVE_MAX_BYTES per object (E_INVALID_ARGUMENT), at most
WEB3_ARCHIVE_QUOTA_BYTES of the objects an actor put or ingested (E_QUOTA_EXCEEDED; checked before
the write, so two puts at once may pass it by one object).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from market.archive_store import blob_write, cid_of
from market.audit.log import audit_record
from market.errors import InvalidArgument, QuotaExceeded
from market.models import ArchiveGrant, ArchiveObject
from market.redaction import CREDENTIAL_KINDS, secrets_in_json, secrets_in_text

G = ArchiveGrant.Reason
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/yaml", "application/x-ndjson")


@dataclass(frozen=True)
class Blob:
    """Bytes ready for the archive: checked, scanned and written to the storage."""

    cid: str
    sha256: str
    media_type: str
    size: int


def _textual(media_type: str) -> bool:
    return media_type.startswith(TEXT_TYPES) or media_type.endswith(("+json", "+xml"))


def secrets_in_upload(data: bytes, media_type: str) -> list[str]:
    """The kinds of secret the redaction would find in an opaque upload (see the module's doc)."""
    found = secrets_in_text(data.decode("latin-1"), only=CREDENTIAL_KINDS)
    if _textual(media_type):
        text = data.decode("utf-8", errors="replace")
        found += secrets_in_text(text)
        if "json" in media_type:
            with contextlib.suppress(ValueError):  # not JSON after all: its text was read above
                found += secrets_in_json(json.loads(text))
    return sorted(found)


def used_bytes(actor_id: str) -> int:
    """Bytes of the objects the actor put or ingested (its quota's use)."""
    total = ArchiveObject.objects.filter(grants__actor_id=actor_id, grants__reason__in=ArchiveGrant.UPLOADS).aggregate(
        n=Sum("size")
    )["n"]
    return total or 0


def _check_quota(actor_id: str, new: int, field: str) -> None:
    used, quota = used_bytes(actor_id), settings.WEB3_ARCHIVE_QUOTA_BYTES
    if used + new > quota:
        raise QuotaExceeded(
            f"{field}: the archive holds {used} of your {quota} bytes; this needs {new} more",
            details={"quota": quota, "used": used, "needed": new, "fields": {field: "over the archive quota"}},
        )


def blob_prepare(*, data: bytes, media_type: str, field: str, scan: bool = True) -> Blob:
    """Check size and secrets and write the encrypted bytes (I/O: call before any transaction)."""
    if len(data) > settings.WEB3_ARCHIVE_MAX_BYTES:
        raise InvalidArgument.field(field, f"at most {settings.WEB3_ARCHIVE_MAX_BYTES} bytes")
    if scan:
        kinds = secrets_in_upload(data, media_type)
        if kinds:
            raise InvalidArgument.field(
                field, f"holds what the market takes for a secret ({', '.join(dict.fromkeys(kinds))}); redact it first"
            )
    cid = cid_of(data)
    blob = Blob(cid=cid, sha256=hashlib.sha256(data).hexdigest(), media_type=media_type, size=len(data))
    if not ArchiveObject.objects.filter(cid=cid).exists():
        blob_write(cid, data)
    return blob


def blobs_record(*, actor_id: str, blobs: Iterable[Blob], reason: str) -> dict[str, ArchiveObject]:
    """The objects of `blobs` (created where new) with a grant to `actor_id`; inside the caller's
    transaction. By cid."""
    out: dict[str, ArchiveObject] = {}
    now = timezone.now()
    for blob in blobs:
        obj, _ = ArchiveObject.objects.get_or_create(
            cid=blob.cid,
            defaults={
                "sha256": blob.sha256,
                "media_type": blob.media_type,
                "size": blob.size,
                "created_by": actor_id,
                "created_at": now,
            },
        )
        ArchiveGrant.objects.get_or_create(object=obj, actor_id=actor_id, defaults={"reason": reason})
        out[blob.cid] = obj
    return out


def archive_put(*, actor_id: str, data: bytes, media_type: str) -> ArchiveObject:
    """web3.archive.put: store the bytes (once per CID) and let the caller get them. Putting bytes
    the caller already put changes nothing."""
    known = ArchiveObject.objects.filter(cid=cid_of(data), grants__actor_id=actor_id).first()
    if known is not None:
        return known
    _check_quota(actor_id, len(data), "contentBase64")
    blob = blob_prepare(data=data, media_type=media_type, field="contentBase64")
    with transaction.atomic():
        obj = blobs_record(actor_id=actor_id, blobs=[blob], reason=G.PUT)[blob.cid]
        audit_record(
            actor_id=actor_id,
            action="archive.put",
            object_type="archive",
            object_id=blob.cid,
            payload={"mediaType": media_type, "size": blob.size, "sha256": blob.sha256},
            parties=[actor_id],
        )
        return obj


def archive_check_quota(*, actor_id: str, new: int, field: str) -> None:
    _check_quota(actor_id, new, field)


def archive_grant(
    *, cids: Iterable[str], by_actor_id: str, to_actor_ids: Iterable[str], reason: str, field: str
) -> dict[str, ArchiveObject]:
    """Let `to_actor_ids` get the objects `cids`, which `by_actor_id` must be able to get (else
    E_INVALID_ARGUMENT naming `field`); the objects by cid. Inside the transaction of the result or
    evidence naming them."""
    cids = sorted(set(cids))
    if not cids:
        return {}
    objects = {o.cid: o for o in ArchiveObject.objects.filter(cid__in=cids, grants__actor_id=by_actor_id)}
    missing = [c for c in cids if c not in objects]
    if missing:
        raise InvalidArgument.field(field, "names no archive object you can get (web3.archive.put it first)")
    for obj in objects.values():
        for actor in sorted(set(to_actor_ids)):
            ArchiveGrant.objects.get_or_create(object=obj, actor_id=actor, defaults={"reason": reason})
    return objects
