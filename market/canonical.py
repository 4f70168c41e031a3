"""RFC 8785 canonical JSON and the sha256 digests built on it: the one place where the market turns a
value into the bytes it hashes (audit events and payloads, object hashes, dispute bundles, index
entries, idempotency params).

The fast path: for strings, safe integers, booleans, null, lists and objects with ASCII keys, the
json module's C encoder (sorted keys, no spaces, no ASCII escaping) writes exactly RFC 8785's bytes
(the same escapes, and code-point key order equals UTF-16 order for ASCII keys), several times faster
than the `rfc8785` package. Anything else (floats, integers beyond 2**53, non-ASCII keys) goes to
`rfc8785` itself, which also refuses what RFC 8785 cannot represent (CanonicalizationError).

market/audit/proofs.py keeps its own copy of the fast path, because it must run with the standard
library alone; tests/market/test_canonical.py checks that the two agree.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

CanonicalizationError = rfc8785.CanonicalizationError

_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -_SAFE_INT <= value <= _SAFE_INT
    if isinstance(value, dict):
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON (UTF-8 bytes); CanonicalizationError for what it cannot represent."""
    if _plain(value):
        try:
            return _JSON.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it, with its own error
    return rfc8785.dumps(value)


def canonical_text(value: Any) -> str:
    """The canonical JSON as text, as the market stores it (audit payloads, dispute bundles, index entries)."""
    return canonical(value).decode()


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text`: an audit event's payloadSha256, an evidence digest."""
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_sha256(value: Any) -> str:
    """Hex sha256 of the canonical JSON of `value` (an audit event's hash)."""
    return hashlib.sha256(canonical(value)).hexdigest()


def object_hash(fields: dict[str, Any]) -> str:
    """API.md's object hash: "sha256:" + hex sha256 of the canonical JSON of `fields`. Amounts must
    already be decimal strings (RFC 8785 refuses integers beyond 2**53)."""
    return "sha256:" + canonical_sha256(fields)


def params_digest(params: Any) -> str:
    """Hex sha256 that is the same for the same params: of their canonical JSON, or, for params RFC
    8785 cannot represent (integers beyond 2**53), of a sorted compact dump, still deterministic."""
    try:
        data = canonical(params)
    except (CanonicalizationError, TypeError, ValueError):
        data = json.dumps(params, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()
