"""Caps under concurrency (PostgreSQL): parallel calls in two sessions of one delegation never
spend a minor unit past the daily cap, nor one session past its budget."""

import pytest
from django.db.models import Sum

from market.audit.verify import problems
from market.errors import MarketError
from market.models import DebitNote, Session
from market.services import resources as resource_services
from market.services.session_invoke import session_invoke
from market.services.sessions import Opener, session_open, session_settle
from tests.conftest import in_thread
from tests.provider_server import ProviderServer
from tests.resource_helpers import USDC, bal, fund

PROVIDER = "0x" + "ab" * 20
OWNER = "0x" + "cd" * 20

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres]


def _run(calls):
    runs = [in_thread(fn) for fn in calls]
    for thread, _ in runs:
        thread.join(60)
    return [out for _, out in runs]


def test_parallel_calls_never_pass_the_daily_cap(transactional_db, settings):
    settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = True
    with ProviderServer() as server:
        # given: 0.01 a call, a daily cap of 0.05, two sessions of one delegation with room for more
        resource = resource_services.resource_publish(
            provider_actor_id=PROVIDER,
            kind="search",
            name="s",
            backend="searxng",
            endpoint=server.base,
            pricing={"unit": "query", "unitPrice": 10_000, "currency": "USDC"},
        )
        fund(OWNER, 10)
        opener = Opener(
            owner_actor_id=OWNER, delegation_id="agt_race", agent_token_id="agt_race", policy={"dailyCap": "0.05"}
        )
        sessions = [session_open(opener=opener, budget=USDC, currency="USDC", ttl_sec=600) for _ in range(2)]

        def one(session_id):
            return lambda: session_invoke(
                session_id=session_id,
                resource_id=resource.resource_id,
                actor_id=OWNER,
                delegation_id="agt_race",
                input={"q": "x"},
            )

        # when: 16 calls at once, half in each session
        outs = _run([one(sessions[i % 2].session_id) for i in range(16)])
    # then: exactly five were paid, the rest refused by the cap
    ok = [o for o in outs if "value" in o]
    refused = [o["error"] for o in outs if "error" in o]
    assert len(ok) == 5
    assert {e.code for e in refused} == {"E_QUOTA_EXCEEDED"}
    assert all(isinstance(e, MarketError) and e.details["cap"] == "dailyCap" for e in refused)
    assert DebitNote.objects.aggregate(total=Sum("amount"))["total"] == 50_000
    for s in sessions:
        session_settle(session_id=s.session_id, actor_id=OWNER)
    assert bal(OWNER) == (10 * USDC - 50_000, 0) and bal(PROVIDER) == (50_000, 0)
    assert list(problems()) == []


def test_parallel_calls_never_pass_a_session_s_budget(transactional_db, settings):
    settings.WEB3_ALLOW_PRIVATE_ENDPOINTS = True
    with ProviderServer() as server:
        resource = resource_services.resource_publish(
            provider_actor_id=PROVIDER,
            kind="search",
            name="s",
            backend="searxng",
            endpoint=server.base,
            pricing={"unit": "query", "unitPrice": 10_000, "currency": "USDC"},
        )
        fund(OWNER, 10)
        session = session_open(opener=Opener(owner_actor_id=OWNER), budget=30_000, currency="USDC", ttl_sec=600)
        outs = _run(
            [
                lambda: session_invoke(
                    session_id=session.session_id,
                    resource_id=resource.resource_id,
                    actor_id=OWNER,
                    delegation_id="",
                    input={"q": "x"},
                )
                for _ in range(10)
            ]
        )
    assert sum("value" in o for o in outs) == 3
    assert {o["error"].code for o in outs if "error" in o} == {"E_INSUFFICIENT_FUNDS"}
    assert Session.objects.get(pk=session.pk).accrued == 30_000
