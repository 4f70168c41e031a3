"""The Test call of provider onboarding: one request to an endpoint not yet published, through
the same guarded path as invoke (syntax check, the address guard, pinned addresses, timeouts,
the size cap), with a fixed harmless input per backend. Nothing is stored, charged or audited.

What it returns is all a page may show: the HTTP status, the latency and a short excerpt of the
answer with the endpoint, its host and the access token cut out (a provider may echo them)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from market.errors import MarketError
from market.models import Resource
from market.outbound import check_endpoint_syntax
from market.services.backends import plan_for

EXCERPT_CHARS = 200
PROBE_MAX_BYTES = 64 * 1024
B = Resource.Backend
PROBE_INPUT = {
    B.OPENAI_COMPAT: {"messages": [{"role": "user", "content": "ping"}], "max_tokens": 8},
    B.SEARXNG: {"q": "test"},
    B.HTTP_BLOB: {"op": "get", "sha256": hashlib.sha256(b"").hexdigest()},
    B.CUSTOM: {"ping": True},
}
UNIT_BY_BACKEND = {B.OPENAI_COMPAT: "token", B.SEARXNG: "query", B.HTTP_BLOB: "byte", B.CUSTOM: "call"}


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    status: int | None  # the provider's HTTP status; None when it could not be reached
    latency_ms: int
    excerpt: str  # never the endpoint, its host or the token
    problem: str = ""  # the market's plain words when the call failed


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "[hidden]")
    return text


def resource_probe(*, backend: str, endpoint: str, access_token: str = "") -> ProbeResult:
    """Call `endpoint` once as invoke would, and say how it answered. Raises InvalidArgument for an
    endpoint that is not a URL; every other failure is a result with `problem` set."""
    check_endpoint_syntax(endpoint)
    resource = Resource(backend=backend, unit=UNIT_BY_BACKEND.get(backend, "call"))
    plan = plan_for(resource, {}, PROBE_INPUT.get(backend, {}))
    host = urlsplit(endpoint).hostname or ""
    hidden = [endpoint, endpoint.rstrip("/"), plan.url(endpoint), host, access_token]
    started = time.monotonic()
    try:
        answer = plan.send(endpoint, access_token, max_bytes=PROBE_MAX_BYTES)
    except MarketError as exc:
        latency = int((time.monotonic() - started) * 1000)
        return ProbeResult(False, None, latency, "", _scrub(exc.message, hidden))
    latency = int((time.monotonic() - started) * 1000)
    text = answer.body[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
    excerpt = _scrub(text, hidden)[:EXCERPT_CHARS]
    return ProbeResult(200 <= answer.status < 300, answer.status, latency, excerpt)
