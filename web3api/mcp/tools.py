"""MCP tools generated from the registry: one per enabled method the caller may use, named after
the method, described from its declaration, taking exactly its paramsSchema, with its hints as the
tool's annotations. Nothing here is declared per method."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from web3api import registry, schema
from web3api.identity.agents import scope_covers
from web3api.registry import Method


@dataclass(frozen=True)
class Caller:
    """Who the tools are listed for: an actor with roles (None: nobody signed in), and the methods
    an agent token's scopes allow (None: every method the roles allow)."""

    actor_id: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] | None = field(default=None)


def tool_name(method: Method) -> str:
    """`web3.market.publishTask` -> `web3_market_publishTask`: MCP clients differ on whether a dot
    may be in a tool name; an underscore is allowed everywhere, and no method name has one."""
    return method.name.replace(".", "_")


def method_for(name: str) -> Method | None:
    return registry.get(name.replace("_", "."))


def permitted(method: Method, caller: Caller) -> bool:
    """Would the gateway let this caller call it? (The gateway still decides each call.)"""
    if not method.enabled:
        return False
    if caller.scopes is not None and method.auth != "none" and not scope_allows(caller.scopes, method.name):
        return False
    if method.auth == "none":
        return True
    if caller.actor_id is None:
        return False
    return method.auth == "actor" or method.auth in caller.roles


def scope_allows(scopes: frozenset[str], name: str) -> bool:
    """An agent token's scopes cover the method, as the gateway reads them."""
    return any(scope_covers(s, name) for s in scopes)


def description(method: Method) -> str:
    parts = [method.summary]
    if method.description and method.description != method.summary:
        parts.append(method.description)
    if method.prerequisites:
        parts.append("Prerequisites: " + "; ".join(method.prerequisites) + ".")
    if method.permissions:
        parts.append("Who may call it: " + "; ".join(method.permissions) + ".")
    pricing = method.pricing or {"model": "free"}
    parts.append("Pricing: " + ", ".join(f"{k}: {v}" for k, v in pricing.items()) + ".")
    rules = method.param_rules
    if rules:
        parts.append("Rules no schema states: " + "; ".join(f"{k}: {v}" for k, v in rules.items()) + ".")
    return "\n\n".join(parts)


def tool(method: Method) -> dict[str, Any]:
    """The tool's wire form (tools/list), from the method's declaration."""
    params_schema, returns = schema.method_schemas(method)
    hints = method.hints
    return {
        "name": tool_name(method),
        "title": method.summary,
        "description": description(method),
        "inputSchema": params_schema,
        "outputSchema": schema.as_json_schema(returns) if returns.get("type") == "object" else None,
        "annotations": {
            "title": method.summary,
            "readOnlyHint": hints["readOnly"],
            "destructiveHint": hints["destructive"],
            "idempotentHint": hints["idempotent"],
            "openWorldHint": method.name == "web3.resources.invoke",
        },
        "_meta": {"web3/method": method.name},
    }


def tools_for(caller: Caller) -> list[dict[str, Any]]:
    return [tool(m) for m in registry.all_methods() if permitted(m, caller)]


def idempotency_key(connection: str, request_id: Any, meta: dict[str, Any] | None) -> str:
    """The Idempotency-Key of a mutating tool call: the one the client put in `_meta`
    (`web3/idempotencyKey`) if any, else derived from the MCP request id within its connection, so
    a request sent again (a retry with the same id) is answered once and has one effect, and the
    same id in another connection is another call."""
    given = (meta or {}).get("web3/idempotencyKey")
    if isinstance(given, str) and given:
        return given
    digest = hashlib.sha256(json.dumps([connection, request_id]).encode()).hexdigest()
    return f"mcp-{digest[:48]}"
