"""The demo's doors: the consumer's butler gets an agent token, and var/demo/ gets what an MCP
client and the `market` CLI need to act for the demo actors (for local use only, mode 0600):

  mcp.json          an `mcpServers` entry that starts `manage.py mcp` as the butler
  keys/<actor>.key  each demo wallet's key, for `market login --key-file`
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from web3api import registry
from web3api.demo.actors import DemoWallet
from web3api.identity.agents import agent_token_issue, agent_token_resolve

BUTLER_SCOPES = [
    "web3.identity.whoami",
    "web3.resources.*",
    "web3.leases.*",
    "web3.market.*",
    "web3.billing.*",
    "web3.brain.*",
    "web3.settlement.*",
    "web3.ledger.*",
]
BUTLER_TTL_SEC = 7 * 24 * 3600


def _write_private(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _live_token(path) -> str | None:
    try:
        token = json.loads(path.read_text())["mcpServers"]["openclaw-market"]["env"]["WEB3_AGENT_TOKEN"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return token if agent_token_resolve(token) is not None else None


def step_doors(wallets: dict[str, DemoWallet], out: Callable[[str], None]) -> None:
    demo = settings.VAR_DIR / "demo"
    for name, wallet in wallets.items():
        _write_private(demo / "keys" / f"{name}.key", wallet.key + "\n")
    path = demo / "mcp.json"
    if _live_token(path) is None:
        names = [m.name for m in registry.all_methods()]
        scopes = [s for s in BUTLER_SCOPES if any(n == s or n.startswith(s.rstrip("*")) for n in names)]
        with transaction.atomic():
            issued = agent_token_issue(
                owner_actor_id=wallets["consumer"].address,
                label="demo butler (MCP)",
                scopes=scopes,
                policy=None,
                ttl_sec=min(BUTLER_TTL_SEC, settings.WEB3_AGENT_TOKEN_MAX_TTL_SEC),
                method_names=names,
            )
        config = {
            "mcpServers": {
                "openclaw-market": {
                    "command": sys.executable,
                    "args": [str(settings.BASE_DIR / "manage.py"), "mcp"],
                    "env": {"WEB3_AGENT_TOKEN": issued.token, "WEB3_VAR_DIR": str(settings.VAR_DIR)},
                }
            }
        }
        _write_private(path, json.dumps(config, indent=2) + "\n")
        out("the consumer's demo butler has an agent token; its MCP client entry is in the demo folder under var")
    else:
        out("the demo butler's MCP client entry in the demo folder under var is still good")
