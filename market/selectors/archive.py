"""Archive reads: an object and its bytes, for those it belongs to.

Who may get an object: the actors with a grant (who put it or ingested it, the parties of a task
result or dispute evidence naming it), arbitrators for objects named as dispute evidence, and staff.
For anyone else it does not exist (E_NOT_FOUND).
"""

from __future__ import annotations

from market.archive_store import blob_read
from market.errors import NotFound
from market.models import ArchiveGrant, ArchiveObject, DisputeEvidence


def can_get(obj: ArchiveObject, *, actor_id: str, is_staff: bool = False, is_arbitrator: bool = False) -> bool:
    if is_staff or ArchiveGrant.objects.filter(object=obj, actor_id=actor_id).exists():
        return True
    return is_arbitrator and DisputeEvidence.objects.filter(cid=obj.cid).exists()


def archive_get(
    *, cid: str, actor_id: str, is_staff: bool = False, is_arbitrator: bool = False
) -> tuple[ArchiveObject, bytes]:
    """The object and its plain bytes (decrypted, checked against the CID)."""
    obj = ArchiveObject.objects.filter(cid=cid).first()
    if obj is None or not can_get(obj, actor_id=actor_id, is_staff=is_staff, is_arbitrator=is_arbitrator):
        raise NotFound("no such archive object")
    return obj, blob_read(cid)
