"""Money is parsed once, at the edge (issue 12, item 4): market services and selectors take and
return integer minor units, and never read a decimal string themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from market.errors import Conflict
from market.hashing import object_hash
from market.models import Lease
from market.services import leases
from tests.resource_helpers import USDC, bal, fund, search_resource

REPO = Path(__file__).resolve().parents[3]
PROVIDER = "0x" + "ab" * 20
CONSUMER = "0x" + "cd" * 20


def _parsers_imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "market.money":
            names |= {alias.name for alias in node.names if alias.name == "parse_amount"}
        elif isinstance(node, ast.Attribute) and node.attr == "parse_amount":
            names.add("parse_amount")
    return names


def test_no_service_or_selector_parses_an_amount():
    # given every module of market/services and market/selectors
    modules = sorted((REPO / "market" / "services").glob("*.py")) + sorted((REPO / "market" / "selectors").glob("*.py"))
    # then none of them reads a decimal string: that is the params serializer's (or the method's) job
    assert {p.name: found for p in modules if (found := _parsers_imported(p))} == {}


@pytest.fixture
def resource(db):
    fund(CONSUMER, 5)
    return search_resource(PROVIDER)


def test_a_lease_in_another_currency_than_its_resource_is_refused(resource):
    # when a lease's budget is given in a currency the resource is not priced in (its pricing moved
    # after the caller read it)
    with pytest.raises(Conflict) as refused:
        leases.lease_issue(
            resource_id=resource.resource_id, consumer_actor_id=CONSUMER, max_cost=USDC, currency="ETH", ttl_sec=60
        )
    # then nothing is locked, and the refusal names the resource's currency
    assert refused.value.details == {"currency": "USDC"}
    assert (Lease.objects.count(), bal(CONSUMER)) == (0, (5 * USDC, 0))


def test_a_lease_issued_without_the_clients_text_hashes_its_budget_with_the_currencys_scale(resource):
    # when a lease is issued with its budget in minor units only
    lease = leases.lease_issue(
        resource_id=resource.resource_id, consumer_actor_id=CONSUMER, max_cost=USDC, currency="USDC", ttl_sec=60
    )
    # then its hash covers maxCost as the outputs write it
    fields = {"leaseId": lease.lease_id, "resourceId": resource.resource_id, "maxCost": "1.000000", "ttlSec": 60}
    assert lease.hash == object_hash(fields)
    assert (lease.max_cost, bal(CONSUMER)) == (USDC, (4 * USDC, USDC))
