"""What a money method costs the database per request, through the gateway: every statement the
request sends (authentication, savepoints, locks, writes, the audit leaf) is counted, on each store.

The audit leaf takes no lock and costs one statement on PostgreSQL (with its parties); no statement
touches the audit chain head. The sequencer's run after the commit (here, inside the test's
transaction, there is none) adds up to three statements outside the request's transaction, one run
often serving several requests. The bounds are today's counts: a change that adds a statement to a
money path fails here."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.resource_helpers import fund, publish
from tests.task_support import Flow
from tests.task_support import fund as fund_amount

ENDPOINT = "https://search.example.net/api"

# method -> (PostgreSQL, SQLite): at most this many statements per request.
BOUNDS = {
    "web3.leases.issue": (15, 20),
    "web3.leases.revoke": (16, 20),
    "web3.market.awardBid": (20, 25),
}


def counted(api, method: str, params: dict) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        out = api.call(method, params)
    assert out.ok, out.body
    return out.result, [q["sql"] for q in ctx.captured_queries]


def bound(method: str) -> int:
    pg, lite = BOUNDS[method]
    return pg if connection.vendor == "postgresql" else lite


def test_money_methods_stay_within_their_statement_counts(sign_in):
    # given: a provider and a consumer that both hold accounts already (a first lease creates them)
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    fund(provider.actor_id, 1)
    r = publish(provider, endpoint=ENDPOINT, price="0.010000", unit="query").result
    issue = {"resourceId": r["resourceId"], "maxCost": "2", "ttlSec": 600}
    first = consumer.call("web3.leases.issue", issue).result
    assert provider.call("web3.leases.revoke", {"leaseId": first["leaseId"]}).ok
    # when: a lease is issued and revoked
    lease, issued = counted(consumer, "web3.leases.issue", issue)
    _, revoked = counted(provider, "web3.leases.revoke", {"leaseId": lease["leaseId"]})
    # then: each within its bound, and no statement touches the audit chain head
    assert len(issued) <= bound("web3.leases.issue"), "\n".join(issued)
    assert len(revoked) <= bound("web3.leases.revoke"), "\n".join(revoked)
    for statement in issued + revoked:
        assert "market_audithead" not in statement
    # and the two leaves (the settlement's and the lease's) are written in the request's statements
    assert sum("market_auditevent" in s for s in issued) == 2
    flow = Flow(creator=consumer, bidder=provider).publish().place_bid()
    # when: a task's bid is awarded (its budget locked)
    fund_amount(consumer.actor_id, "20")
    _, awarded = counted(consumer, "web3.market.awardBid", {"taskId": flow.task["taskId"], "bidId": flow.bid["bidId"]})
    assert len(awarded) <= bound("web3.market.awardBid"), "\n".join(awarded)
    assert not any("market_audithead" in s for s in awarded)
