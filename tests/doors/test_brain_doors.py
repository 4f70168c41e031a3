"""Brain resolution through the Python client against a live market: an agent token whose owner
allows a provider's model as its brain resolves it for a session and thinks with it, with calls the
client generated from describe."""

from __future__ import annotations

import httpx
from openclaw_market import Market


def test_an_agent_resolves_and_calls_its_brain_through_the_client(live, provider):
    # given a provider's chat model, and an owner whose agent token allows that provider as a brain
    provider_token, provider_actor = live.sign_in()
    owner_token, _ = live.funded("5")
    with httpx.Client(base_url=live.base + "/api/v1/", timeout=30) as http:
        resource = http.post(
            "web3.resources.publish",
            json={
                "kind": "model",
                "name": "door brain",
                "backend": "openai-compat",
                "endpoint": provider.base + "/v1",
                "pricing": {"unit": "token", "unitPrice": "1.00", "currency": "USDC"},
                "policy": {"maxTokens": 32},
            },
            headers={"Authorization": f"Bearer {provider_token}"},
        ).json()["result"]
        agent = http.post(
            "web3.identity.issueAgentToken",
            json={
                "label": "thinker",
                "scopes": ["web3.brain.*", "web3.sessions.*", "web3.billing.status"],
                "policy": {"brainAllow": [provider_actor]},
                "ttlSec": 600,
            },
            headers={"Authorization": f"Bearer {owner_token}"},
        ).json()["result"]
    market = Market(live.base, token=agent["token"])

    # when the agent opens a session, resolves its brain and asks it something, all through the client
    session = market.sessions.open(budget="1", currency="USDC", ttlSec=600)
    choice = market.brain.resolve(sessionId=session["sessionId"])
    answer = market.brain.invoke(
        sessionId=session["sessionId"], input={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    )
    status = market.billing.status()
    market.close()

    # then the provider's model is the session's brain, it answered, and billing.status shows it
    assert choice["source"] == "web3" and choice["resourceId"] == resource["resourceId"]
    assert choice["model"] == "door brain" and choice["leaseId"].startswith("lease_")
    assert answer["resourceId"] == resource["resourceId"] and answer["output"]["choices"][0]["message"]["content"]
    assert answer["usage"]["cost"] == "0.000042"
    assert status["brain"]["resourceId"] == resource["resourceId"]
