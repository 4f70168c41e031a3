"""How the invoke proxy speaks to each backend: the request it sends, the most units a call can
use (what is reserved), the policy checks, and how an answer becomes output and units.

  openai-compat  POST <endpoint>/chat/completions; units = usage.total_tokens (token pricing)
  searxng        GET  <endpoint>/search?q=..&format=json; 1 query
  http-blob      PUT|GET <endpoint>/<sha256>; units = body bytes (byte pricing)
  custom         POST <endpoint> with the input as JSON; 1 call

A token-priced chat call reserves prompt_bound(input) + max_tokens: total_tokens counts the prompt
too, so reserving max_tokens alone under-reserved every call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from market import outbound
from market.errors import Forbidden, InvalidArgument, Unavailable
from market.json_depth import nests_deeper_than
from market.models import Resource
from market.outbound import MAX_RESPONSE_BYTES, ProviderAnswer

DEFAULT_MAX_TOKENS = 4096
SHA256 = re.compile(r"^[0-9a-f]{64}$")
B = Resource.Backend


@dataclass
class Plan:
    method: str
    path: str  # appended to the endpoint
    max_units: int
    json_body: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    max_response_bytes: int = MAX_RESPONSE_BYTES
    blob_sha256: str = ""

    def url(self, endpoint: str) -> str:
        base = endpoint.split("?", 1)[0].rstrip("/")
        if self.path and base.endswith(self.path):
            return endpoint
        return base + self.path

    def send(self, endpoint: str, token: str, *, max_bytes: int | None = None) -> ProviderAnswer:
        """The request to `endpoint`, with the access token (if any) as a bearer token. Network I/O:
        never inside a transaction."""
        headers = {"Accept": "application/json", **self.headers}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return outbound.call(
            self.method,
            self.url(endpoint),
            headers=headers,
            json_body=self.json_body,
            content=self.content,
            params=self.params,
            max_bytes=self.max_response_bytes if max_bytes is None else max_bytes,
        )


def _input_error(message: str) -> InvalidArgument:
    return InvalidArgument(f"input: {message}", details={"fields": {"input": message}})


def _unit_count(resource: Resource, by_measure: int) -> int:
    """Units for the pricing unit: call and query count 1, token and byte count the measure."""
    return by_measure if resource.unit in ("token", "byte") else 1


def prompt_bound(data: dict[str, Any]) -> int:
    """An upper bound of the prompt tokens of a chat-completions input: the UTF-8 byte length of the
    input as compact JSON (non-ASCII characters as themselves). Sound for the byte-level tokenizers
    chat models use, where every token of the text covers at least one byte of it; the JSON framing
    of each message (`{"role":"user","content":""}` is 28 bytes) is more than the few special tokens
    a chat template adds around it, and tools, schemas and other prompt-bearing fields are counted
    with everything else. A provider that still reports more (a hidden system prompt, say) is paid
    the reservation, and what it reported is kept beside it."""
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def plan_for(resource: Resource, policy: dict[str, Any], data: dict[str, Any]) -> Plan:
    if not isinstance(data, dict):
        raise _input_error("must be a JSON object")
    size = len(json.dumps(data, separators=(",", ":")).encode())
    max_bytes = policy.get("maxBytes")
    if max_bytes and size > max_bytes and resource.backend != B.HTTP_BLOB:
        raise _input_error(f"exceeds the resource's maxBytes ({max_bytes})")
    if resource.backend == B.OPENAI_COMPAT:
        if not isinstance(data.get("messages"), list) or not data["messages"]:
            raise _input_error("a chat-completions body needs a non-empty 'messages' list")
        if not policy.get("allowTools") and any(k in data for k in ("tools", "functions", "tool_choice")):
            raise Forbidden("this resource's policy does not allow tools", details={"policy": "allowTools"})
        asked = data.get("max_tokens")
        if asked is not None and (not isinstance(asked, int) or isinstance(asked, bool) or asked < 1):
            raise _input_error("max_tokens must be a positive integer")
        caps = [c for c in (asked, policy.get("maxTokens")) if c]
        cap = min(caps) if caps else DEFAULT_MAX_TOKENS
        body = {**data, "max_tokens": cap, "stream": False}
        return Plan("POST", "/chat/completions", _unit_count(resource, prompt_bound(data) + cap), json_body=body)
    if resource.backend == B.SEARXNG:
        unknown = set(data) - {"q", "categories", "language"}
        if unknown:
            raise _input_error(f"unknown keys {sorted(unknown)}; searxng takes q, categories, language")
        if not isinstance(data.get("q"), str) or not 0 < len(data["q"]) <= 500:
            raise _input_error("q must be a string of 1-500 characters")
        params = {"q": data["q"], "format": "json"}
        for key in ("categories", "language"):
            if key in data:
                if not isinstance(data[key], str):
                    raise _input_error(f"{key} must be a string")
                params[key] = data[key]
        return Plan("GET", "/search", 1, params=params)
    if resource.backend == B.HTTP_BLOB:
        return _blob_plan(resource, policy, data)
    return Plan("POST", "", 1, json_body=data)


def _blob_plan(resource: Resource, policy: dict[str, Any], data: dict[str, Any]) -> Plan:
    op, digest = data.get("op"), data.get("sha256")
    unknown = set(data) - {"op", "sha256", "contentBase64"}
    if unknown:
        raise _input_error(f"unknown keys {sorted(unknown)}")
    if op not in ("put", "get"):
        raise _input_error("op must be put or get")
    if not isinstance(digest, str) or not SHA256.match(digest):
        raise _input_error("sha256 must be 64 lowercase hex digits")
    max_bytes = policy.get("maxBytes") or MAX_RESPONSE_BYTES
    if op == "get":
        return Plan(
            "GET", f"/{digest}", _unit_count(resource, max_bytes), max_response_bytes=max_bytes, blob_sha256=digest
        )
    try:
        content = base64.b64decode(data.get("contentBase64") or "", validate=True)
    except (binascii.Error, ValueError):
        raise _input_error("contentBase64 is not base64") from None
    if not content:
        raise _input_error("put needs contentBase64")
    if len(content) > max_bytes:
        raise _input_error(f"content exceeds the resource's maxBytes ({max_bytes})")
    if hashlib.sha256(content).hexdigest() != digest:
        raise _input_error("sha256 does not match the content")
    return Plan(
        "PUT",
        f"/{digest}",
        _unit_count(resource, len(content)),
        content=content,
        headers={"Content-Type": "application/octet-stream"},
        blob_sha256=digest,
    )


def _json(answer: ProviderAnswer) -> Any:
    """The provider's JSON answer. One nested deeper than WEB3_MAX_JSON_DEPTH is refused before it
    is parsed, as a request body would be: the parser and everything that later walks the output
    recurse once per level (10,000 levels were a RecursionError), and the market passes on no JSON
    deeper than it accepts."""
    try:
        text = answer.body.decode(json.detect_encoding(answer.body), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        raise Unavailable("the provider's answer is not JSON; nothing was charged") from None
    limit = settings.WEB3_MAX_JSON_DEPTH
    if nests_deeper_than(text, limit):
        raise Unavailable(
            f"the provider's answer nests deeper than {limit} levels; nothing was charged",
            details={"maxDepth": limit},
        )
    try:
        value = json.loads(text)
    except ValueError:
        raise Unavailable("the provider's answer is not JSON; nothing was charged") from None
    if not isinstance(value, (dict, list)):
        raise Unavailable("the provider's answer is not a JSON object or list; nothing was charged")
    return value


def _mime_allowed(policy: dict[str, Any], content_type: str) -> bool:
    allowed = policy.get("allowMime") or []
    mime = content_type.split(";", 1)[0].strip().lower()
    return not allowed or mime in allowed or f"{mime.split('/', 1)[0]}/*" in allowed


def interpret(resource: Resource, policy: dict[str, Any], plan: Plan, answer: ProviderAnswer) -> tuple[Any, int | None]:
    """(output, units used); units None when the provider reports none (the reservation is charged)."""
    if resource.backend == B.HTTP_BLOB and plan.method == "GET":
        if hashlib.sha256(answer.body).hexdigest() != plan.blob_sha256:
            raise Unavailable("the provider returned content that does not match the sha256; nothing was charged")
        if not _mime_allowed(policy, answer.content_type):
            raise Forbidden(
                "the content's type is not allowed by the resource's policy", details={"policy": "allowMime"}
            )
        output = {
            "sha256": plan.blob_sha256,
            "size": len(answer.body),
            "contentBase64": base64.b64encode(answer.body).decode(),
        }
        return output, _unit_count(resource, len(answer.body))
    if resource.backend == B.HTTP_BLOB:
        output = _json(answer) if answer.body.strip() else {"stored": True}
        return output, _unit_count(resource, len(plan.content or b""))
    output = _json(answer)
    if resource.backend == B.OPENAI_COMPAT:
        usage = output.get("usage") if isinstance(output, dict) else None
        tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
        if resource.unit == "token":
            if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0:
                return output, tokens
            return output, None
        return output, 1
    return output, 1
