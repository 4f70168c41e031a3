"""The archive's bytes: content addresses and the encrypted objects in the archive storage.

A CID is CIDv1, base32, codec raw, multihash sha2-256 of the plain bytes (multiformats), so its
digest is the bytes' sha256. Each object is stored once, under its CID, as a Fernet token
(market.secrets.seal_bytes, WEB3_SECRETS_KEY), in the Django storage named "archive" (STORAGES:
files under var/archive by default, any django-storages backend by setting). Reading checks that
the decrypted bytes still have their CID.

Writing a blob is I/O (S3 is the network): callers write before their transaction opens. A blob
whose transaction then fails stays behind unreferenced; it holds only what an object of that CID
holds, and a later put of the same bytes finds it.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from multiformats import CID, multihash

from market.errors import MarketError, Unavailable
from market.secrets import seal_bytes, unseal_bytes

CID_PATTERN = r"^bafkrei[a-z2-7]{52}$"  # every CIDv1 base32 raw sha2-256
log = logging.getLogger(__name__)


def cid_of(data: bytes) -> str:
    return str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))


def sha256_of_cid(cid: str) -> str:
    """The hex sha256 a CID of the archive's kind carries."""
    return multihash.unwrap(CID.decode(cid).digest).hex()


def archive_storage() -> Storage:
    return storages["archive"]


def object_name(cid: str) -> str:
    return f"{cid[7:9]}/{cid}"


def _unavailable(doing: str, exc: Exception) -> Unavailable:
    # A storage's own error names its files or its bucket's URL: only the error's type is logged.
    log.warning("the archive storage failed %s: %s", doing, type(exc).__name__)
    return Unavailable(f"the archive storage failed {doing}; nothing was changed")


def blob_write(cid: str, data: bytes) -> None:
    """Store `data` (whose CID is `cid`) encrypted, unless an object of that CID is stored already."""
    storage, name = archive_storage(), object_name(cid)
    try:
        if not storage.exists(name):
            storage.save(name, ContentFile(seal_bytes(data)))
    except Exception as exc:  # noqa: BLE001 - every backend raises its own (OSError, botocore's)
        raise _unavailable("writing an object", exc) from None


def blob_read(cid: str) -> bytes:
    storage, name = archive_storage(), object_name(cid)
    try:
        with storage.open(name, "rb") as fh:
            token = fh.read()
    except Exception as exc:  # noqa: BLE001 - as above
        raise _unavailable("reading an object", exc) from None
    data = unseal_bytes(token)
    if cid_of(data) != cid or hashlib.sha256(data).hexdigest() != sha256_of_cid(cid):
        raise MarketError("an archive object does not match its CID")
    return data
