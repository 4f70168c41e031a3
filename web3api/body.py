"""A call's params from its POST body, as API.md's transport says: a JSON object, or nothing.

Checked in this order, each before any work the next one costs: the Content-Length (400 unless
ASCII digits), the size (413), an empty body (means `{}`, whatever the content type), the media
type (415: `application/json` or `application/*+json`, with any parameters), the nesting depth
(400, on the raw text, before the parser or anything else recurses into it), then the JSON itself
(400).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from market.errors import InvalidArgument
from market.json_depth import nests_deeper_than

JSON_MEDIA_TYPES = ("application/json", "application/*+json")
# RFC 6838 restricted names: `application/json`, or a structured syntax suffix (`vnd.x+json`).
_JSON_MEDIA = re.compile(r"application/(?:[a-z0-9][a-z0-9!#$&^_.+-]*\+)?json")
_DIGITS = re.compile(r"[0-9]+")


class BodyRefused(InvalidArgument):
    """E_INVALID_ARGUMENT with its own HTTP status: 413 for a body too large, 415 for one that
    is not JSON (web3api.errors.REQUEST_REFUSALS)."""

    def __init__(self, message: str, *, status: int, details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        self.http_status = status


def too_large() -> BodyRefused:
    limit = settings.WEB3_MAX_BODY_BYTES
    return BodyRefused(f"the body exceeds {limit} bytes", status=413, details={"maxBytes": limit})


def body_params(req) -> dict[str, Any]:
    length = req.META.get("CONTENT_LENGTH") or "0"
    # 1*DIGIT in ASCII (RFC 9110): str.isdigit() is also true of '١٢' and '²', which int() reads or chokes on
    if not _DIGITS.fullmatch(length):
        raise InvalidArgument("Content-Length must be a decimal number of ASCII digits")
    if len(length) > 18 or int(length) > settings.WEB3_MAX_BODY_BYTES:  # (int() stops at 4300 digits)
        raise too_large()
    try:
        raw = req.body
    except RequestDataTooBig as exc:
        raise too_large() from exc
    if not raw.strip():
        return {}
    media_type = (req.content_type or "").lower()
    if not _JSON_MEDIA.fullmatch(media_type):
        given = media_type[:100] or "none"
        raise BodyRefused(
            f"the body must be JSON: send it with 'Content-Type: application/json' (got {given})",
            status=415,
            details={"contentType": given, "accepted": list(JSON_MEDIA_TYPES)},
        )
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError) as exc:
        raise InvalidArgument("the body is not valid JSON") from exc
    limit = settings.WEB3_MAX_JSON_DEPTH
    if nests_deeper_than(text, limit):
        raise InvalidArgument(
            f"the body nests arrays and objects deeper than {limit} levels (the params object is level 1)",
            details={"maxDepth": limit},
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgument("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidArgument("the body must be a JSON object of params")
    return data
