"""Output shapes a client can use without knowing the market's rules: pricing says what its price is
per (1 unit, or 1,000,000 for tokens and bytes), and task result ids have a prefix of their own."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from market.hashing import object_hash
from market.models import TaskResult
from tests.conftest import sign
from tests.resource_helpers import fund, publish
from tests.task_support import SHA, START, Flow
from tests.task_support import fund as fund_amount

ENDPOINT = "https://models.example.net/v1"


def _pricings(api, resource_id: str, lease_id: str) -> list[dict]:
    """Every output that carries the resource's or the lease's pricing."""
    listed = api.call("web3.resources.list", {}).result["items"]
    leases = api.call("web3.leases.list", {}).result["items"]
    indexed = api.call("web3.index.list", {}).result["items"]
    return [
        api.call("web3.resources.get", {"resourceId": resource_id}).result["pricing"],
        next(r["pricing"] for r in listed if r["resourceId"] == resource_id),
        api.call("web3.leases.get", {"leaseId": lease_id}).result["pricing"],
        next(x["pricing"] for x in leases if x["leaseId"] == lease_id),
        next(i["pricing"] for i in indexed if i["resourceId"] == resource_id),
    ]


@pytest.mark.parametrize(
    ("kind", "backend", "unit", "per"),
    [
        ("model", "openai-compat", "token", 1_000_000),
        ("storage", "http-blob", "byte", 1_000_000),
        ("model", "openai-compat", "call", 1),
        ("search", "searxng", "query", 1),
    ],
)
def test_every_pricing_output_says_what_its_price_is_per(sign_in, kind, backend, unit, per):
    # given a resource priced per `unit` and a lease of it
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    published = publish(provider, kind=kind, backend=backend, unit=unit, price="2", endpoint=ENDPOINT).result
    lease = consumer.call(
        "web3.leases.issue", {"resourceId": published["resourceId"], "maxCost": "1", "ttlSec": 600}
    ).result
    expected = {"unit": unit, "unitPrice": "2.000000", "currency": "USDC", "per": per}
    # then publish, issue and every read show the price with what it is per
    assert published["pricing"] == expected
    assert lease["pricing"] == expected
    assert _pricings(consumer, published["resourceId"], lease["leaseId"]) == [expected] * 5


def test_the_resource_hash_covers_the_pricing_as_supplied_and_an_index_entry_may_copy_per(alice):
    # given a resource priced per token
    r = publish(alice, kind="model", backend="openai-compat", unit="token", price="2", endpoint=ENDPOINT).result
    # then its hash is over the client-supplied pricing (per is derived from the unit, not supplied)
    fields = {k: r[k] for k in ("resourceId", "kind", "name", "description", "backend", "policy", "tags")}
    supplied = {k: v for k, v in r["pricing"].items() if k != "per"}
    assert r["hash"] == object_hash({**fields, "pricing": supplied})

    def report(pricing):
        entry = {
            "resourceId": r["resourceId"],
            "pricing": pricing,
            "tags": r["tags"],
            "reportedAt": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return alice.call(
            "web3.index.report",
            {"resourceId": r["resourceId"], "entry": entry, "signature": sign(alice.account, object_hash(entry))},
        )

    # when the provider reports the pricing as it was output (with per), or as supplied (without)
    # then both are the resource's pricing; a wrong per is not
    assert report(r["pricing"]).ok
    assert report(supplied).ok
    wrong = report({**r["pricing"], "per": 1})
    assert wrong.code == "E_INVALID_ARGUMENT" and "entry.pricing" in wrong.body["error"]["details"]["fields"]


def test_describe_shows_per_in_the_pricing_it_returns(anon):
    for name, path in (
        ("web3.resources.get", ("pricing",)),
        ("web3.leases.get", ("pricing",)),
        ("web3.index.list", ("items", "pricing")),
    ):
        node = anon.call("web3.capabilities.describe", {"name": name}).result["returns"]
        for key in path:
            node = node["properties"][key]
            node = node.get("items", node)
            node = node["allOf"][0] if "allOf" in node else node  # a described nested object
        assert node["properties"]["per"]["enum"] == [1, 1_000_000], name


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def delivered(clock, sign_in):
    creator, bidder = sign_in(), sign_in()
    fund_amount(creator.actor_id, "100")
    return Flow(creator, bidder).delivered()


def test_a_task_result_id_has_its_own_prefix(delivered, anon):
    # then a result is not named like a resource (res_)
    assert delivered.result["resultId"].startswith("tres_")
    assert delivered.get_task()["result"]["resultId"] == delivered.result["resultId"]
    described = anon.call("web3.capabilities.describe", {"name": "web3.market.submitResult"}).result["returns"]
    assert "tres_" in described["properties"]["resultId"]["description"]


def test_a_result_stored_with_the_old_res_prefix_is_still_found(delivered):
    # given a result stored before results had their own prefix
    old_id = "res_" + delivered.result["resultId"].removeprefix("tres_")
    row = TaskResult.objects.get(result_id=delivered.result["resultId"])
    row.result_id = old_id
    row.hash = object_hash(
        {
            "taskId": delivered.task["taskId"],
            "summary": "done",
            "artifacts": [{"name": "out.txt", "sha256": SHA}],
            "resultId": old_id,
        }
    )
    row.save(update_fields=["result_id", "hash"])
    # when its task is read and the result reviewed by that id
    shown = delivered.get_task()["result"]
    delivered.result = {"resultId": old_id}
    out = delivered.review("accept").result
    # then it is found under its old id
    assert shown["resultId"] == old_id and shown["hash"] == row.hash
    assert out["result"]["resultId"] == old_id and out["receipt"]["status"] == "receipt_settled"
