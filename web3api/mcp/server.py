"""The MCP server (the SDK's low-level Server: the tool list is generated per caller, not
declared): tools/list answers tools.tools_for(the caller), tools/call sends the arguments through
dispatch.call, the gateway's own path, and turns the envelope into a tool result.

Who the caller is: the bearer token in WEB3_AGENT_TOKEN (stdio, one caller per process) or in the
request's Authorization header (streamable HTTP, per request), resolved by the gateway's own
authentication, so a token it refuses lists only the tools that need no sign-in, and an agent
token lists only the tools its scopes cover.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

import anyio
import mcp_types as types
from django.db import close_old_connections
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from rest_framework.exceptions import AuthenticationFailed

from web3api.identity.auth import BearerTokenAuthentication
from web3api.mcp import dispatch
from web3api.mcp.tools import Caller, idempotency_key, method_for, tools_for

SERVER_NAME = "openclaw-web3-market"
INSTRUCTIONS = (
    "The OpenClaw Web3 Market: lease model, search and storage resources, publish and bid on tasks, "
    "settle in escrow. Every tool is one web3.* method; web3_capabilities_describe tells everything "
    "about one. Money is a decimal string. Errors carry a stable code (E_...) and details."
)


def _token_of(ctx: Any) -> str | None:
    request = getattr(ctx, "request", None)
    if request is not None and getattr(request, "headers", None) is not None:
        value = request.headers.get("authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None
    return os.environ.get("WEB3_AGENT_TOKEN") or None


def _connection_of(ctx: Any, nonce: str) -> str:
    """What makes a request id unique: this process's nonce, and on HTTP the MCP session (and the
    token, for a transport without sessions)."""
    request = getattr(ctx, "request", None)
    if request is None:
        return nonce
    headers = request.headers
    return json.dumps([nonce, headers.get("mcp-session-id"), headers.get("authorization")])


class _Credentials:
    """What the gateway's authentication reads of a request: its Authorization header."""

    def __init__(self, token: str) -> None:
        self.META = {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _caller(token: str | None) -> Caller:
    """The caller the gateway would see for this token, by the gateway's own authentication (an
    agent token's scopes included); a token it refuses is nobody."""
    if not token:
        return Caller()
    try:
        found = BearerTokenAuthentication().authenticate(_Credentials(token))
    except AuthenticationFailed:
        return Caller()
    finally:
        close_old_connections()
    if found is None:
        return Caller()
    caller = found[0]
    agent = getattr(caller, "agent", None)
    return Caller(
        actor_id=caller.actor_id,
        roles=frozenset(caller.roles),
        scopes=frozenset(agent.scopes) if agent is not None else None,
    )


def _error(code: str, message: str, details: dict | None = None) -> types.CallToolResult:
    error = {"code": code, "message": message, "details": details or {}}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps({"error": error}))],
        structured_content={"error": error},
        is_error=True,
    )


def build_server() -> Server:
    nonce = secrets.token_hex(16)

    async def list_tools(ctx, params) -> types.ListToolsResult:
        caller = await anyio.to_thread.run_sync(_caller, _token_of(ctx))
        tools = await anyio.to_thread.run_sync(tools_for, caller)
        return types.ListToolsResult(tools=[types.Tool.model_validate(t) for t in tools])

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        method = method_for(params.name)
        if method is None:
            return _error("E_NOT_FOUND", f"no tool named {params.name[:100]!r}; see tools/list")
        # Whether this caller may call it is the gateway's to say: a tool the token's scopes exclude
        # is not listed, and the gateway refuses it (E_FORBIDDEN) if it is called anyway.
        token = _token_of(ctx)
        key = None
        if not method.read_only and method.auth != "none":
            meta = params.meta.model_dump(by_alias=True) if params.meta is not None else None
            key = idempotency_key(_connection_of(ctx, nonce), ctx.request_id, meta)
        answer = await anyio.to_thread.run_sync(
            lambda: dispatch.call(method.name, params.arguments or {}, token=token, idempotency_key=key)
        )
        if not answer.ok:
            error = answer.body["error"]
            return _error(error["code"], error["message"], error.get("details"))
        result = answer.body["result"]
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result))],
            structured_content=result,
        )

    return Server(
        SERVER_NAME,
        version="1",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve_stdio() -> None:
    server = build_server()

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def serve_http(host: str, port: int) -> None:
    import uvicorn

    server = build_server()
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning")
