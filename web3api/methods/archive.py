"""web3.archive.put and web3.archive.get: the content-addressed, encrypted archive."""

import base64
import binascii
from types import SimpleNamespace

from django.conf import settings
from rest_framework import serializers

from market.archive_store import CID_PATTERN
from market.errors import InvalidArgument
from market.selectors import archive as archive_selectors
from market.services import archive as archive_services
from web3api.registry import method
from web3api.serializers import Params, StrictRegexField
from web3api.shapes.archive import ArchiveContentOut, ArchiveObjectOut

BASE64_PATTERN = (
    r"^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$|^[A-Za-z0-9+/]{2}==$|^[A-Za-z0-9+/]{3}=$"
)
MEDIA_TYPE_PATTERN = r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$"
SIZES = (
    f"At most WEB3_ARCHIVE_MAX_BYTES ({settings.WEB3_ARCHIVE_MAX_BYTES}) bytes per object (E_INVALID_ARGUMENT), "
    f"at most WEB3_ARCHIVE_QUOTA_BYTES ({settings.WEB3_ARCHIVE_QUOTA_BYTES}) bytes of the objects one actor put "
    "or ingested through web3.hooks.ingest (E_QUOTA_EXCEEDED with details quota, used, needed)."
)
SECRETS = (
    "The archive never keeps a secret the market's redaction knows: the bytes are stored as sent (the CID is "
    "theirs), so an upload holding one is refused with E_INVALID_ARGUMENT naming its kind: in any media type API "
    "keys (sk-...), bearer tokens, Authorization lines, 0x private keys and PEM keys, JWTs and URLs with "
    "credentials; in text and JSON media types also absolute file paths, and in JSON the values of secret keys "
    "(authorization, apiKey, password, ...)."
)


class PutParams(Params):
    contentBase64 = StrictRegexField(
        BASE64_PATTERN,
        max_length=(settings.WEB3_ARCHIVE_MAX_BYTES + 2) // 3 * 4,
        help_text=f"The bytes, base64 (RFC 4648, padded), 1 to {settings.WEB3_ARCHIVE_MAX_BYTES} bytes.",
    )
    mediaType = StrictRegexField(
        MEDIA_TYPE_PATTERN,
        max_length=129,
        help_text="type/subtype, lowercase, no parameters: application/json, text/plain.",
    )


@method(
    name="web3.archive.put",
    summary="Store bytes in the encrypted archive; returns their CID.",
    group="archive",
    params=PutParams,
    result=ArchiveObjectOut,
    atomic=False,
    permissions=["any signed-in actor; it alone can get the object until a result or evidence names it"],
    description="Content-addressed: the same bytes have one CID (CIDv1 base32 raw sha2-256) and are stored once, "
    "encrypted at rest; putting them again is a no-op. Name the CID as a task result's artifact (`cid`, the "
    "task's creator can then get it) or as dispute evidence (the dispute's parties and arbitrators can). "
    + SIZES
    + " "
    + SECRETS,
    unexpressible={
        "contentBase64": "the decoded bytes are at most WEB3_ARCHIVE_MAX_BYTES and hold no secret the redaction "
        "knows: no keyword reads inside base64",
    },
    examples=[{"params": {"contentBase64": "aGVsbG8=", "mediaType": "text/plain"}}],
)
def archive_put(call, params):
    try:
        data = base64.b64decode(params["contentBase64"], validate=True)
    except (binascii.Error, ValueError):
        data = None
    if not data:
        raise InvalidArgument.field("contentBase64", "not base64 of at least one byte")
    return archive_services.archive_put(actor_id=call.actor_id, data=data, media_type=params["mediaType"])


class GetParams(Params):
    cid = serializers.RegexField(CID_PATTERN, max_length=64, help_text="A CID web3.archive.put returned.")


@method(
    name="web3.archive.get",
    summary="An archive object's bytes, for those it belongs to.",
    group="archive",
    read_only=True,
    params=GetParams,
    result=ArchiveContentOut,
    errors=["E_NOT_FOUND"],
    permissions=[
        "who put it, the session owner for hook content, the parties of a task result or dispute naming it, "
        "arbitrators for dispute evidence, staff; anyone else gets E_NOT_FOUND"
    ],
)
def archive_get(call, params):
    obj, content = archive_selectors.archive_get(
        cid=params["cid"], actor_id=call.actor_id, is_staff=call.is_staff, is_arbitrator=call.is_arbitrator
    )
    return SimpleNamespace(
        cid=obj.cid,
        sha256=obj.sha256,
        media_type=obj.media_type,
        size=obj.size,
        created_at=obj.created_at,
        content=content,
    )
