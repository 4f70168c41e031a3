"""Helpers of the agent-wallet tests: an owner's agent token as an Api, sessions, resources."""

from __future__ import annotations

from tests.conftest import Api


def agent_api(
    owner: Api,
    *,
    scopes=("web3.sessions.*", "web3.billing.*", "web3.resources.invoke"),
    policy=None,
    label="butler",
    ttl_sec=3600,
) -> Api:
    params = {"label": label, "scopes": list(scopes), "ttlSec": ttl_sec}
    if policy is not None:
        params["policy"] = policy
    issued = owner.call("web3.identity.issueAgentToken", params).result
    api = Api(owner.client, issued["token"], owner.actor_id, owner.account)
    api.token_id = issued["tokenId"]
    return api
