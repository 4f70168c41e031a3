"""Every object's `hash` recomputes, as API.md says, from the fields `web3.capabilities.describe`
lists as its method's hashFields (one list per object, in market/hashing.py)."""

from __future__ import annotations

import pytest
import time_machine

from market.hashing import object_hash
from tests.resource_helpers import fund as fund_whole
from tests.resource_helpers import publish
from tests.task_support import START, Flow, fund


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def hash_fields(api, method: str) -> list[str]:
    return api.call("web3.capabilities.describe", {"name": method}).result["hashFields"]


def test_each_object_hash_is_over_its_described_fields(clock, sign_in, anon):
    # given: a resource and a lease, and a task carried to a disputed result
    provider, consumer, creator, bidder = sign_in(), sign_in(), sign_in(), sign_in()
    fund_whole(consumer.actor_id, 5)
    fund(creator.actor_id, "100")
    resource = publish(provider, endpoint="https://search.example.net/api").result
    # (the lease hashes maxCost as the client sent it, so it is sent here in its canonical form)
    lease = consumer.call(
        "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "1.000000", "ttlSec": 600}
    ).result
    flow = Flow(creator, bidder).delivered()
    flow.review("reject", "incomplete")
    dispute = flow.dispute("the work was done").result
    # (pricing's `per` is derived from the unit, not supplied by the client: describe says to drop it)
    supplied = {**resource, "pricing": {k: v for k, v in resource["pricing"].items() if k != "per"}}
    objects = {
        "web3.resources.publish": supplied,
        "web3.leases.issue": lease,
        "web3.market.publishTask": flow.task,
        "web3.market.placeBid": flow.bid,
        "web3.market.submitResult": flow.result,
        "web3.dispute.open": dispute,
    }
    for method, obj in objects.items():
        # when: a client hashes the listed fields of what it was given
        fields = hash_fields(anon, method)
        # then
        assert obj["hash"] == object_hash({k: obj[k] for k in fields}), method
