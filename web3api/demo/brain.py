"""Demo step: the consumer's open demo session has a resolved brain, the demo provider's chat model
(its butler's policy allows that provider as a brain), so web3.billing.status, web3.status.summary
and web3.brain.candidates show a web3 brain. Idempotent: a session that has one keeps it."""

from __future__ import annotations

from collections.abc import Callable

from market.models import Resource, SessionBrain
from market.services.brain import brain_resolve
from web3api.demo.resources import DEMO_RESOURCES
from web3api.demo.wallet import demo_token, open_demo_session


def step_brain(wallets, out: Callable[[str], None]) -> None:
    owner = wallets["consumer"].address
    token = demo_token(wallets, out)
    session = open_demo_session(owner, token).order_by("-pk").first()
    model = Resource.objects.filter(
        provider_actor_id=wallets["provider"].address, name=DEMO_RESOURCES[0]["name"]
    ).first()
    if session is None or model is None:
        out("demo brain skipped: no open demo session or no demo model")
        return
    if SessionBrain.objects.filter(session=session, source=SessionBrain.Source.WEB3).exists():
        out(f"demo session {session.session_id} keeps its brain")
        return
    choice = brain_resolve(
        session_id=session.session_id, actor_id=owner, delegation_id=token.delegation_id, preferred=model.resource_id
    )
    if choice.source == "web3":
        out(f"demo session {session.session_id} thinks with {choice.model} ({choice.resource_id}, web3)")
    else:
        out(f"demo session {session.session_id} is on its centralized brain ({choice.reason})")
