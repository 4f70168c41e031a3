"""MCP clients of the SDK for the tests: over stdio (`manage.py mcp`, the token in WEB3_AGENT_TOKEN)
and over streamable HTTP (the token in the Authorization header), as an async context manager
yielding an initialized mcp.ClientSession."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import httpx2
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from bench.gateway import PYTHON, ROOT


@asynccontextmanager
async def stdio_session(market, token: str | None):
    env = dict(market.env)
    if token:
        env["WEB3_AGENT_TOKEN"] = token
    params = StdioServerParameters(command=PYTHON, args=["manage.py", "mcp"], cwd=str(ROOT), env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def http_session(url: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        yield session


async def tool(session: ClientSession, name: str, arguments: dict | None = None, **kw) -> dict:
    """The structured result of a tool call that must succeed."""
    result = await session.call_tool(name, arguments or {}, **kw)
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def tool_error(session: ClientSession, name: str, arguments: dict | None = None) -> dict:
    """The error of a tool call that must fail: {code, message, details}."""
    result = await session.call_tool(name, arguments or {})
    assert result.is_error, result.structured_content
    return result.structured_content["error"]


def run_async(coro):
    """asyncio.run(coro) on a thread of its own: a test in the same process may hold a running event
    loop on the main thread (Playwright's sync API does, for the browser tests' session)."""
    import threading

    out: dict = {}

    def target():
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]
