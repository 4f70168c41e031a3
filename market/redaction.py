"""Redaction of what an agent sends the market to keep (hook payloads, archive uploads): the secrets
it knows are taken out before anything is stored, logged or hashed into the audit log.

Two kinds of rule, both configurable:

- keys: the value under a key whose name is a secret's (`authorization`, `apiKey`, `password`, ...;
  compared lowercase without `_`, `-`, `.` and spaces, exactly or as the name's ending) is replaced
  whole by REDACTED, whatever its type. WEB3_REDACT_KEYS adds names.
- patterns: every string (values and keys alike) has each match of a pattern replaced by
  `[redacted:<kind>]` (only the `secret` group, when the pattern names one, so `Bearer` or a URL's
  host stays readable): bearer tokens, `Authorization:` header lines, API keys (`sk-...` and the
  other common prefixes), private keys (0x + 64 hex, PEM blocks), JWTs, URLs with credentials,
  `file:` URIs and absolute file paths (POSIX with at least two segments, `~/...`, Windows drive
  and UNC paths). WEB3_REDACT_PATTERNS adds kinds, as a JSON object {kind: regex}.

The rules run on canonical JSON (RFC 8785, market.canonical): the value is canonicalised first (what
RFC 8785 cannot represent is refused), redacted, and canonicalised again, so the stored bytes, their
sha256 and their CID are one function of what was sent. Redacting is idempotent: a marker matches no
rule.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings

from market.canonical import CanonicalizationError, canonical
from market.errors import InvalidArgument

REDACTED = "[redacted]"
_SAFE_INT = 2**53 - 1

# Normalised key names (lowercase, no _ - . or spaces) whose values are secrets, exactly...
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "token",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "mnemonic",
        "seedphrase",
        "privatekey",
        "credentials",
        "credential",
    }
)
# ... or as the ending of the name (openaiApiKey, refresh_token, client-secret, AWS_SECRET_ACCESS_KEY).
SECRET_KEY_ENDINGS = ("apikey", "token", "secret", "password", "privatekey", "accesskey", "secretkey", "sessionkey")

# Characters of one path segment: anything but whitespace, separators, quotes and brackets.
_SEG = r"[^\s/\\\"'`<>|;,()\[\]{}]+"
PATTERNS: dict[str, str] = {
    "private_key_pem": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|[\s\S]*)",
    "authorization": r"(?im)\b(?:proxy-)?authorization\s*[:=]\s*(?!\[redacted)(?P<secret>[^\s\"'][^\r\n\"']*)",
    "bearer": r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9\-._~+/]+=*)",
    "url_credentials": r"(?i)\b[a-z][a-z0-9+.\-]*://(?!\[redacted)(?P<secret>[^\s/?#@\"'<>]+)@",
    "api_key": r"(?<![A-Za-z0-9])(?:sk|rk|pk)-[A-Za-z0-9_\-]{8,}"
    r"|(?<![A-Za-z0-9])[sr]k_(?:live|test)_[A-Za-z0-9]{8,}"
    r"|(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
    r"|(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"
    r"|(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}",
    "jwt": r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
    "private_key": r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{64}(?![0-9A-Za-z])",
    "file_uri": r"(?i)\bfile:[^\s\"'<>]+",
    "file_path": rf"(?<![\w.:~\\\-@])(?<!:/)/{_SEG}(?:/{_SEG})+/?"
    rf"|(?<![\w/\\])~(?:{_SEG})?/{_SEG}(?:/{_SEG})*"
    rf"|(?<![\w])[A-Za-z]:[\\/]{_SEG}(?:[\\/]{_SEG})*"
    rf"|(?<![\w\\])\\\\{_SEG}(?:\\{_SEG})+",
}
# Kinds that identify a credential on their own: an opaque upload of any media type is refused for
# them (a file path in a binary is too often a false match; see archive.scan).
CREDENTIAL_KINDS = ("private_key_pem", "authorization", "bearer", "url_credentials", "api_key", "jwt", "private_key")


def _marker(kind: str) -> str:
    return f"[redacted:{kind}]"


@dataclass(frozen=True)
class Rules:
    keys: frozenset[str]
    endings: tuple[str, ...]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    def secret_key(self, name: str) -> bool:
        norm = normalise_key(name)
        return norm in self.keys or norm.endswith(self.endings)


def normalise_key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


@lru_cache(maxsize=4)
def _rules(extra_keys: tuple[str, ...], extra_patterns: tuple[tuple[str, str], ...]) -> Rules:
    patterns = [*PATTERNS.items(), *extra_patterns]
    return Rules(
        keys=SECRET_KEYS | {normalise_key(k) for k in extra_keys if k.strip()},
        endings=SECRET_KEY_ENDINGS,
        patterns=tuple((kind, re.compile(regex)) for kind, regex in patterns),
    )


def rules() -> Rules:
    """The rules in force: the defaults and what WEB3_REDACT_KEYS / WEB3_REDACT_PATTERNS add."""
    extra = getattr(settings, "WEB3_REDACT_PATTERNS", {}) or {}
    return _rules(tuple(getattr(settings, "WEB3_REDACT_KEYS", ()) or ()), tuple(sorted(extra.items())))


def redact_text(text: str, found: Counter[str] | None = None, *, only: tuple[str, ...] | None = None) -> str:
    """`text` with every pattern match replaced by its marker; `found` counts them by kind. Run to a
    fixed point: a marker can end up where the start of another match was looked behind at."""
    for _ in range(8):
        redacted = _redact_once(text, found, only)
        if redacted == text:
            return text
        text = redacted
    return text


def _redact_once(text: str, found: Counter[str] | None, only: tuple[str, ...] | None) -> str:
    for kind, regex in rules().patterns:
        if only is not None and kind not in only:
            continue

        def swap(match: re.Match[str], kind: str = kind) -> str:
            if found is not None:
                found[kind] += 1
            if "secret" in match.re.groupindex and match.group("secret") is not None:
                start, end = match.span("secret")
                whole = match.group(0)
                offset = match.start()
                return whole[: start - offset] + _marker(kind) + whole[end - offset :]
            return _marker(kind)

        text = regex.sub(swap, text)
    return text


def _redact(value: Any, found: Counter[str], r: Rules) -> Any:
    if isinstance(value, str):
        return redact_text(value, found)
    if isinstance(value, list):
        return [_redact(v, found, r) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = redact_text(key, found)
            while name in out:  # two keys that redact alike stay two entries
                name += "#"
            if r.secret_key(key) and item not in (None, "", REDACTED):
                found["key"] += 1
                out[name] = REDACTED
            else:
                out[name] = _redact(item, found, r)
        return out
    return value


@dataclass(frozen=True)
class Redaction:
    """A redacted document: its canonical JSON bytes and how many secrets were taken out, by kind."""

    content: bytes
    found: Counter[str]

    @property
    def count(self) -> int:
        return sum(self.found.values())


def _parse_int(text: str) -> int | float:
    """RFC 8785 writes an integral float as an integer (1e17 is 100000000000000000): beyond 2**53 it is
    read back as the float it was, so that it canonicalises to the same text again."""
    number = int(text)
    return number if abs(number) <= _SAFE_INT else float(text)


def parse_canonical(text: str | bytes) -> Any:
    """Canonical JSON read back as the value it canonicalises from (integral floats beyond 2**53 as floats)."""
    return json.loads(text, parse_int=_parse_int)


def redact_value(value: Any) -> Any:
    """The redacted value (parsed JSON), without canonicalising it."""
    return _redact(value, Counter(), rules())


def redact_json(value: Any, *, field: str = "payload") -> Redaction:
    """Canonicalise `value` (RFC 8785), redact it, and give its canonical JSON bytes. What RFC 8785
    cannot represent is E_INVALID_ARGUMENT naming `field`."""
    try:
        parsed = parse_canonical(canonical(value))
    except (CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidArgument.field(field, "not representable as RFC 8785 canonical JSON") from exc
    found: Counter[str] = Counter()
    redacted = _redact(parsed, found, rules())
    return Redaction(content=canonical(redacted), found=found)


def secrets_in_json(value: Any) -> Counter[str]:
    """The secrets redaction would take out of `value`, by kind (nothing is changed)."""
    found: Counter[str] = Counter()
    _redact(value, found, rules())
    return found


def secrets_in_text(text: str, *, only: tuple[str, ...] | None = None) -> Counter[str]:
    found: Counter[str] = Counter()
    redact_text(text, found, only=only)
    return found
