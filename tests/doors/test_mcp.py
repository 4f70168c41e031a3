"""The MCP door, through the SDK's own client over stdio and streamable HTTP against a live market:
the tools are the registry's methods (one per permitted method, inputSchema = paramsSchema), and
the lease and task flows run on tool calls only."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tests.doors.live import McpHttp
from tests.doors.mcp_support import http_session, run_async, stdio_session, tool, tool_error


def catalogue(live) -> dict[str, dict]:
    """name -> describe, read over HTTP."""
    with httpx.Client(base_url=live.base + "/api/v1/", timeout=30) as http:
        names = [i["name"] for i in http.post("web3.capabilities.list", json={}).json()["result"]["items"]]
        return {n: http.post("web3.capabilities.describe", json={"name": n}).json()["result"] for n in names}


@pytest.fixture(scope="module")
def described(live):
    return catalogue(live)


@pytest.fixture(scope="module")
def mcp_http(live):
    with McpHttp(live) as server:
        yield server


def expected_tools(described: dict[str, dict], roles: set[str], signed_in: bool = True) -> dict[str, dict]:
    allowed = {"none"} | ({"actor"} | roles if signed_in else set())
    return {
        name.replace(".", "_"): d
        for name, d in described.items()
        if d["availability"]["enabled"] and d["auth"] in allowed
    }


def test_stdio_lists_one_tool_per_permitted_method_with_its_params_schema_and_hints(live, described):
    # given an actor's token in WEB3_AGENT_TOKEN
    token, _ = live.sign_in()

    async def run():
        async with stdio_session(live, token) as session:
            return (await session.list_tools()).tools

    # when an MCP client lists the tools over stdio
    tools = run_async(run())

    # then there is one tool per method the actor may call, none of the staff's, each taking exactly
    # the method's paramsSchema and annotated with its hints
    expected = expected_tools(described, roles=set())
    assert {t.name for t in tools} == set(expected)
    assert "web3_admin_creditAccount" not in expected
    for t in tools:
        d = expected[t.name]
        assert t.input_schema == d["paramsSchema"], t.name
        assert t.description.startswith(d["summary"])
        assert t.annotations.read_only_hint is d["hints"]["readOnly"]
        assert t.annotations.destructive_hint is d["hints"]["destructive"]
        assert t.annotations.idempotent_hint is d["hints"]["idempotent"]
    by_name = {t.name: t for t in tools}
    assert by_name["web3_leases_issue"].annotations.destructive_hint is True
    assert by_name["web3_leases_revoke"].annotations.destructive_hint is True
    assert by_name["web3_market_listTasks"].annotations.read_only_hint is True


def test_http_lists_staff_tools_for_staff_and_only_sign_in_tools_without_a_token(live, described, mcp_http):
    # given a staff token, and no token at all
    token, actor = live.sign_in()
    live.manage("actor_role", actor, "--add", "staff")

    async def names(tok):
        async with http_session(mcp_http.url, tok) as session:
            return {t.name for t in (await session.list_tools()).tools}

    # when each lists the tools over streamable HTTP
    staff_tools, anonymous_tools = run_async(names(token)), run_async(names(None))

    # then staff see the staff methods too; nobody signed in sees only what needs no sign-in
    assert staff_tools == set(expected_tools(described, roles={"staff"}))
    assert "web3_admin_creditAccount" in staff_tools
    assert anonymous_tools == set(expected_tools(described, roles=set(), signed_in=False))
    assert "web3_siwe_challenge" in anonymous_tools


def test_stdio_publish_lease_invoke_revoke_settles_the_used_part(live, provider):
    # given a provider and a funded consumer, each with its own MCP server on stdio
    provider_token, _ = live.sign_in()
    consumer_token, consumer = live.funded("10")

    async def run():
        async with stdio_session(live, provider_token) as p, stdio_session(live, consumer_token) as c:
            resource = await tool(
                p,
                "web3_resources_publish",
                {
                    "kind": "search",
                    "name": "loopback search",
                    "backend": "searxng",
                    "endpoint": provider.base,
                    "pricing": {"unit": "query", "unitPrice": "0.010000", "currency": "USDC"},
                },
            )
            lease = await tool(
                c, "web3_leases_issue", {"resourceId": resource["resourceId"], "maxCost": "1.00", "ttlSec": 600}
            )
            invoked = await tool(c, "web3_resources_invoke", {"leaseId": lease["leaseId"], "input": {"q": "doors"}})
            revoked = await tool(c, "web3_leases_revoke", {"leaseId": lease["leaseId"]})
            settlement = await tool(c, "web3_settlement_status", {"settlementId": lease["settlementId"]})
            balance = await tool(c, "web3_billing_status")
            return resource, invoked, revoked, settlement, balance

    # when it publishes, leases, invokes and revokes through tool calls only
    resource, invoked, revoked, settlement, balance = run_async(run())

    # then the provider was called, the query was charged, and the rest went back to the consumer
    assert resource["status"] == "resource_published"
    assert invoked["output"]["query"] == "doors"
    assert invoked["usage"]["cost"] == "0.010000"
    assert revoked["status"] == "lease_revoked"
    assert (settlement["released"], settlement["refunded"], settlement["remaining"]) == (
        "0.010000",
        "0.990000",
        "0.000000",
    )
    assert balance["USDC"]["available"] == "9.990000"
    assert "endpoint" not in json.dumps(resource)


def test_http_task_flow_on_tool_calls_only(live, mcp_http):
    # given a funded creator and a bidder, each on the HTTP door with its own token
    creator_token, _ = live.funded("20")
    bidder_token, bidder = live.sign_in()
    digest = hashlib.sha256(b"the summary").hexdigest()

    async def run():
        async with http_session(mcp_http.url, creator_token) as c, http_session(mcp_http.url, bidder_token) as b:
            task = await tool(
                c,
                "web3_market_publishTask",
                {
                    "title": "Summarise",
                    "requirements": "200 words",
                    "budget": "5.00",
                    "currency": "USDC",
                    "ttlSec": 3600,
                },
            )
            bid = await tool(b, "web3_market_placeBid", {"taskId": task["taskId"], "price": "4.00", "etaSec": 600})
            award = await tool(c, "web3_market_awardBid", {"taskId": task["taskId"], "bidId": bid["bidId"]})
            result = await tool(
                b,
                "web3_market_submitResult",
                {"taskId": task["taskId"], "summary": "done", "artifacts": [{"name": "out.txt", "sha256": digest}]},
            )
            reviewed = await tool(c, "web3_market_reviewResult", {"resultId": result["resultId"], "decision": "accept"})
            again = await tool(c, "web3_market_getTask", {"taskId": task["taskId"]})
            return task, award, reviewed, again

    # when the task goes from publish to accepted result through tool calls
    task, award, reviewed, again = run_async(run())

    # then the award locked the price and the review made a receipt for the bidder's price
    assert task["status"] == "task_open"
    assert award["status"] == "award_active"
    assert reviewed["receipt"]["amount"] == "4.000000"
    assert again["status"] != "task_open"


def test_a_refused_call_is_a_tool_error_with_the_stable_code_and_details(live):
    # given an actor (no staff role)
    token, _ = live.sign_in()

    async def run():
        async with stdio_session(live, token) as session:
            missing = await tool_error(session, "web3_market_getTask", {"taskId": "task_nosuchtask"})
            strict = await tool_error(session, "web3_market_getTask", {"taskId": "t", "extra": 1})
            staff_only = await tool_error(
                session,
                "web3_admin_creditAccount",
                {"actorId": "0x" + "1" * 40, "amount": "5.00", "currency": "USDC", "reason": "r"},
            )
            unknown = await tool_error(session, "web3_nothing_here")
            return missing, strict, staff_only, unknown

    # when it calls tools the market refuses
    missing, strict, staff_only, unknown = run_async(run())

    # then each is a tool error carrying the gateway's code and details
    assert missing["code"] == "E_NOT_FOUND"
    assert strict["code"] == "E_INVALID_ARGUMENT"
    assert strict["details"]["fields"] == {"extra": "unknown param"}
    assert staff_only["code"] == "E_FORBIDDEN"
    assert unknown["code"] == "E_NOT_FOUND"


def _sse_json(response: httpx.Response) -> dict:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    return json.loads([d for d in data if d][-1])


def test_a_tool_call_sent_again_with_its_request_id_has_one_effect(live, mcp_http):
    # given a funded actor in an MCP session over HTTP, spoken to directly (JSON-RPC over HTTP)
    token, actor = live.funded("10")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    with httpx.Client(timeout=60, headers=headers) as http:
        init = http.post(
            mcp_http.url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "retry-test", "version": "1"},
                },
            },
        )
        session_headers = {"Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
        http.post(mcp_http.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session_headers)
        call = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {
                "name": "web3_market_publishTask",
                "arguments": {
                    "title": "once",
                    "requirements": "r",
                    "budget": "3.00",
                    "currency": "USDC",
                    "ttlSec": 600,
                },
            },
        }

        # when the same tools/call (same request id) is sent twice, as a client retrying would
        first = _sse_json(http.post(mcp_http.url, json=call, headers=session_headers))
        second = _sse_json(http.post(mcp_http.url, json=call, headers=session_headers))

    # then both answers are the one task, and there is one task
    assert first["result"]["structuredContent"]["taskId"] == second["result"]["structuredContent"]["taskId"]
    with httpx.Client(base_url=live.base + "/api/v1/", headers={"Authorization": f"Bearer {token}"}) as api:
        tasks = api.post("web3.market.listTasks", json={"creatorActorId": actor}).json()["result"]["items"]
    assert [t["title"] for t in tasks] == ["once"]


def test_the_same_request_id_in_another_session_is_another_call(live):
    # given one actor with two stdio MCP servers (two connections whose request ids both start at 0)
    token, actor = live.funded("10")
    params = {"title": "twice", "requirements": "r", "budget": "1.00", "currency": "USDC", "ttlSec": 600}

    async def publish_once():
        async with stdio_session(live, token) as session:
            return await tool(session, "web3_market_publishTask", params)

    # when each publishes a task as its first call
    first, second = run_async(publish_once()), run_async(publish_once())

    # then they are two tasks
    assert first["taskId"] != second["taskId"]


def test_an_agent_token_lists_only_the_tools_its_scopes_cover_and_is_refused_the_others(live, described, mcp_http):
    # given an owner's agent token scoped to the task market and one billing method
    owner_token, _ = live.funded("10")
    issued = httpx.post(
        f"{live.base}/api/v1/web3.identity.issueAgentToken",
        json={"label": "butler", "scopes": ["web3.market.*", "web3.billing.status"], "ttlSec": 600},
        headers={"Authorization": f"Bearer {owner_token}"},
        timeout=30,
    ).json()["result"]

    async def run():
        async with http_session(mcp_http.url, issued["token"]) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            allowed = await tool(session, "web3_billing_status")
            refused = await tool_error(session, "web3_leases_list")
            return names, allowed, refused

    # when the agent lists the tools and calls one in and one out of its scopes
    names, allowed, refused = run_async(run())

    # then it sees the methods its scopes cover (and those that need no sign-in), nothing else
    expected = {
        name.replace(".", "_")
        for name, d in described.items()
        if d["availability"]["enabled"]
        and (
            d["auth"] == "none"
            or (d["auth"] == "actor" and (name.startswith("web3.market.") or name == "web3.billing.status"))
        )
    }
    assert names == expected
    assert "web3_leases_list" not in names
    assert "web3_market_publishTask" in names
    assert allowed["USDC"]["available"] == "10.000000"
    assert refused["code"] == "E_FORBIDDEN"


def test_an_agent_runs_a_session_on_tool_calls_only(live, provider, mcp_http):
    # given a provider's search resource, and an owner's agent token for sessions, billing and invoke
    provider_token, _ = live.sign_in()
    owner_token, _ = live.funded("10")
    with httpx.Client(base_url=live.base + "/api/v1/", timeout=30) as http:
        resource = http.post(
            "web3.resources.publish",
            json={
                "kind": "search",
                "name": "session search",
                "backend": "searxng",
                "endpoint": provider.base,
                "pricing": {"unit": "query", "unitPrice": "0.05", "currency": "USDC"},
            },
            headers={"Authorization": f"Bearer {provider_token}"},
        ).json()["result"]
        agent = http.post(
            "web3.identity.issueAgentToken",
            json={
                "label": "butler",
                "scopes": ["web3.sessions.*", "web3.billing.*", "web3.resources.invoke"],
                "ttlSec": 600,
            },
            headers={"Authorization": f"Bearer {owner_token}"},
        ).json()["result"]

    async def run():
        async with stdio_session(live, agent["token"]) as session:
            opened = await tool(
                session, "web3_sessions_open", {"budget": "2.00", "currency": "USDC", "ttlSec": 600, "label": "work"}
            )
            invoked = await tool(
                session,
                "web3_resources_invoke",
                {"sessionId": opened["sessionId"], "resourceId": resource["resourceId"], "input": {"q": "agents"}},
            )
            settled = await tool(session, "web3_billing_settleSession", {"sessionId": opened["sessionId"]})
            balance = await tool(session, "web3_billing_status")
            return opened, invoked, settled, balance

    # when the agent opens a session, invokes the resource in it and settles it, through tools only
    opened, invoked, settled, balance = run_async(run())

    # then the call was charged to the session and the rest of the budget came back
    assert opened["status"] == "session_open"
    assert invoked["output"]["query"] == "agents"
    assert invoked["usage"]["cost"] == "0.050000"
    assert settled["session"]["status"] != "session_open"
    assert balance["USDC"]["available"] == "9.950000"
    assert balance["USDC"]["locked"] == "0.000000"
