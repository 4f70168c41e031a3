"""Demo step: the consumer's agent (an agent token with a spend policy, the token kept under
var/demo/agent_token, mode 0600, for local use only), one finished session, one open one and one
waiting for the owner's approval (its budget is above the policy's approvalAbove), so the console
(Sessions: Approve / Decline) and web3.sessions.list show them. Idempotent: a live demo token and
the demo's sessions are reused; a waiting session whose approval lapsed is asked for again."""

from __future__ import annotations

import os
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from market.models import Session
from market.money import currencies, parse_amount
from market.services.sessions import Opener, session_open, session_settle
from web3api.identity.agents import agent_token_issue
from web3api.models import AgentToken
from web3api.registry import all_methods

LABEL = "demo butler"
SCOPES = [
    "web3.sessions.*",
    "web3.billing.*",
    "web3.brain.*",
    "web3.resources.invoke",
    "web3.resources.list",
    "web3.identity.whoami",
]
POLICY = {"sessionCap": "5", "dailyCap": "20", "counterpartyDailyCap": "10", "approvalAbove": "4"}


def demo_policy(wallets) -> dict:
    """The butler's spend policy: its owner allows the demo provider's models as its brain."""
    return {**POLICY, "brainAllow": [wallets["provider"].address]}


def demo_token(wallets, out: Callable[[str], None]) -> AgentToken:
    """The live demo butler token with today's scopes and policy (one from an older demo is replaced)."""
    owner, policy = wallets["consumer"].address, demo_policy(wallets)
    live = AgentToken.objects.filter(
        owner_actor_id=owner, label=LABEL, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
    if live is not None and live.policy == policy and set(live.scopes) == set(SCOPES):
        return live
    issued = agent_token_issue(
        owner_actor_id=owner,
        label=LABEL,
        scopes=SCOPES,
        policy=policy,
        ttl_sec=30 * 24 * 3600,
        method_names=[m.name for m in all_methods()],
    )
    path = settings.VAR_DIR / "demo" / "agent_token"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(issued.token + "\n")
    out(f"demo agent token issued ({issued.row.token_id}); the token is in var/demo/agent_token")
    return issued.row


def open_demo_session(owner: str, token: AgentToken):
    return Session.objects.filter(
        owner_actor_id=owner,
        delegation_id=token.delegation_id,
        label="demo: open",
        status=Session.Status.OPEN,
        expires_at__gt=timezone.now(),
    )


def step_wallet(wallets, out: Callable[[str], None]) -> None:
    if "USDC" not in currencies():
        out("demo sessions skipped: they are in USDC, which WEB3_CURRENCIES does not list")
        return
    owner = wallets["consumer"].address
    token = demo_token(wallets, out)
    opener = Opener(
        owner_actor_id=owner,
        delegation_id=token.delegation_id,
        agent_token_id=token.token_id,
        agent_label=token.label,
        policy=token.policy,
    )
    mine = Session.objects.filter(owner_actor_id=owner, delegation_id=token.delegation_id)
    if not mine.filter(label="demo: finished").exists():
        done = session_open(
            opener=opener, budget=parse_amount("1", "USDC"), currency="USDC", ttl_sec=3600, label="demo: finished"
        )
        session_settle(session_id=done.session_id, actor_id=owner, delegation_id=token.delegation_id)
        out(f"demo session {done.session_id} opened and settled")
    if not open_demo_session(owner, token).exists():
        live = session_open(
            opener=opener, budget=parse_amount("2", "USDC"), currency="USDC", ttl_sec=7 * 24 * 3600, label="demo: open"
        )
        out(f"demo session {live.session_id} open with a 2 USDC budget")
    waiting = mine.filter(
        label="demo: waiting", status=Session.Status.PENDING_APPROVAL, approval_expires_at__gt=timezone.now()
    )
    if not waiting.exists():
        asked = session_open(
            opener=opener, budget=parse_amount("4.5", "USDC"), currency="USDC", ttl_sec=24 * 3600, label="demo: waiting"
        )
        out(f"demo session {asked.session_id} waits for the owner's approval (4.5 USDC, above the policy's 4)")
