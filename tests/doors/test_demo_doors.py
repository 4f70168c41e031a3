"""The demo's doors step: the consumer's butler as an MCP client entry (an agent token), and key
files for the CLI; loading the demo again keeps the entry while its token is live."""

from __future__ import annotations

import json

from django.conf import settings

from web3api.demo.actors import demo_wallets
from web3api.demo.doors import step_doors
from web3api.identity.agents import agent_token_resolve


def test_the_demo_writes_the_butlers_mcp_entry_once_and_the_key_files(db):
    # given the demo's wallets
    wallets = demo_wallets()
    lines: list[str] = []

    # when the doors step runs twice
    step_doors(wallets, lines.append)
    path = settings.VAR_DIR / "demo" / "mcp.json"
    first = json.loads(path.read_text())
    step_doors(wallets, lines.append)
    second = json.loads(path.read_text())

    # then the entry starts `manage.py mcp` as the consumer's agent token, kept the second time
    entry = second["mcpServers"]["openclaw-market"]
    assert entry["args"][-1] == "mcp"
    grant = agent_token_resolve(entry["env"]["WEB3_AGENT_TOKEN"])
    assert grant.owner_actor_id == wallets["consumer"].address
    assert grant.allows("web3.market.publishTask")
    assert not grant.allows("web3.admin.creditAccount")
    assert first == second
    assert path.stat().st_mode & 0o077 == 0
    assert "still good" in lines[-1]
    # and each wallet's key is in a file the CLI logs in with
    key = (settings.VAR_DIR / "demo" / "keys" / "creator.key").read_text().strip()
    assert key == wallets["creator"].key
