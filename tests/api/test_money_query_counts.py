"""What a money method costs the database per request, through the gateway: every statement the
request sends (authentication, savepoints, locks, writes, the audit leaf) is counted, on each store.

The request's transaction is, in a test, a savepoint of the test's transaction: its SAVEPOINT and
RELEASE are two of the statements counted (in production they are the BEGIN and COMMIT, which the
counter does not see). The token and its actor's roles are one statement; the services' own
blocks inside the request take no savepoint (market.tx). A release or a refund locks its settlement
and both accounts in one statement; a lock or a release writes the settlement, the transfer, the two
accounts and its audit leaf with its parties in one statement on PostgreSQL (data-modifying CTEs),
with the caller's own rows where they do not depend on the transfer's; SQLite has no data-modifying
CTEs, so there the same rows go one statement each, which is why its bounds are higher.

The audit leaf takes no lock; no statement touches the audit chain head. The sequencer's run after
the commit (here, inside the test's transaction, there is none) adds up to three statements outside
the request's transaction, one run often serving several requests. The bounds are today's counts: a
change that adds a statement to a money path fails here. web3.resources.invoke runs two short
transactions around the provider's call, which runs outside any, so it counts two pairs of SAVEPOINT
and RELEASE besides the token: the reserve's (the lease locked; the running calls' count and
reservations; the call's row with its leaf) and the settle's (the lease and the call locked; the
settlement and accounts locked; the release; the usage entry, the lease's spend, the call's new state
and the leaf; the resource's and the provider's standing). In a session, the reserve locks the
session, reads the resource, locks the day's counters and the session's lease, sums what running
calls hold and reads the market's limits before writing the call (a first call issues the lease
too); the accrual locks the session, the counters, the lease and the call, then writes the debit
note, the line, the session, the lease, the counters, the call and the leaf together, the standing,
and reads whether a batch of releases is due."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.provider_server import ProviderServer
from tests.resource_helpers import fund, publish
from tests.task_support import SHA, Flow
from tests.task_support import fund as fund_amount
from tests.wallet_support import agent_api

ENDPOINT = "https://search.example.net/api"

# method -> (PostgreSQL, SQLite): at most this many statements per request.
BOUNDS = {
    "web3.leases.issue": (8, 14),
    "web3.leases.revoke": (8, 13),
    "web3.market.awardBid": (9, 17),
    "web3.ledger.append": (8, 16),
    "web3.market.submitResult": (10, 11),
    "web3.market.reviewResult": (6, 16),
    "web3.market.cancelTask": (8, 9),
    "web3.sessions.open": (9, 15),
    "web3.billing.settleSession": (14, 31),
    "web3.resources.invoke": (14, 25),
    "web3.resources.invoke (session)": (20, 32),
}


def counted(api, method: str, params: dict) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        out = api.call(method, params)
    assert out.ok, out.body
    return out.result, [q["sql"] for q in ctx.captured_queries]


def bound(method: str) -> int:
    pg, lite = BOUNDS[method]
    return pg if connection.vendor == "postgresql" else lite


def within(method: str, statements: list[str]) -> None:
    assert len(statements) <= bound(method), f"{method}: {len(statements)} statements\n" + "\n".join(statements)
    assert not any("market_audithead" in s for s in statements)


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


def test_money_methods_stay_within_their_statement_counts(sign_in):
    # given: a provider and a consumer that both hold accounts already (a first lease creates them)
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    fund(provider.actor_id, 1)
    r = publish(provider, endpoint=ENDPOINT, price="0.010000", unit="query").result
    issue = {"resourceId": r["resourceId"], "maxCost": "2", "ttlSec": 600}
    first = consumer.call("web3.leases.issue", issue).result
    assert provider.call("web3.leases.revoke", {"leaseId": first["leaseId"]}).ok
    # when: a lease is issued, used by its provider's report, and revoked
    lease, issued = counted(consumer, "web3.leases.issue", issue)
    usage = {"leaseId": lease["leaseId"], "units": 2, "usageRef": "u1"}
    _, appended = counted(provider, "web3.ledger.append", usage)
    _, revoked = counted(provider, "web3.leases.revoke", {"leaseId": lease["leaseId"]})
    # then: each within its bound, and no statement touches the audit chain head
    within("web3.leases.issue", issued)
    within("web3.ledger.append", appended)
    within("web3.leases.revoke", revoked)
    # and the two leaves (the settlement's and the lease's) are written in the request's statements
    assert sum("market_auditevent" in s for s in issued) == 2
    # when: a task's bid is awarded (its budget locked), its result delivered and accepted (released)
    fund_amount(consumer.actor_id, "20")
    flow = Flow(creator=consumer, bidder=provider).publish().place_bid()
    _, awarded = counted(consumer, "web3.market.awardBid", {"taskId": flow.task["taskId"], "bidId": flow.bid["bidId"]})
    delivery = {"taskId": flow.task["taskId"], "summary": "done", "artifacts": [{"name": "out.txt", "sha256": SHA}]}
    flow.result, submitted = counted(provider, "web3.market.submitResult", delivery)
    review = {"resultId": flow.result["resultId"], "decision": "accept", "reason": ""}
    _, reviewed = counted(consumer, "web3.market.reviewResult", review)
    # and an open task with a bid is cancelled
    other = Flow(creator=consumer, bidder=provider).publish().place_bid()
    _, cancelled = counted(consumer, "web3.market.cancelTask", {"taskId": other.task["taskId"]})
    # then
    within("web3.market.awardBid", awarded)
    within("web3.market.submitResult", submitted)
    within("web3.market.reviewResult", reviewed)
    within("web3.market.cancelTask", cancelled)


def test_invoke_and_session_methods_stay_within_their_statement_counts(sign_in, provider_server):
    # given: a consumer that has leased, invoked and settled a session once (every account exists)
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    fund(provider.actor_id, 1)
    r = publish(provider, provider_server, price="0.010000", unit="query").result
    issue = {"resourceId": r["resourceId"], "maxCost": "2", "ttlSec": 600}
    first = consumer.call("web3.leases.issue", issue).result
    assert consumer.call("web3.resources.invoke", {"leaseId": first["leaseId"], "input": {"q": "x"}}).ok
    agent = agent_api(consumer)
    opening = {"budget": "1", "currency": "USDC", "ttlSec": 600}
    warm = agent.call("web3.sessions.open", opening).result["sessionId"]
    call = {"resourceId": r["resourceId"], "input": {"q": "x"}}
    assert agent.call("web3.resources.invoke", {"sessionId": warm, **call}).ok
    assert agent.call("web3.billing.settleSession", {"sessionId": warm}).ok
    lease = consumer.call("web3.leases.issue", issue).result
    # when: a lease is invoked; a session is opened, invoked in and settled
    _, invoked = counted(consumer, "web3.resources.invoke", {"leaseId": lease["leaseId"], "input": {"q": "x"}})
    session, opened = counted(agent, "web3.sessions.open", opening)
    _, in_session = counted(agent, "web3.resources.invoke", {"sessionId": session["sessionId"], **call})
    _, settled = counted(agent, "web3.billing.settleSession", {"sessionId": session["sessionId"]})
    # then
    within("web3.resources.invoke", invoked)
    within("web3.sessions.open", opened)
    within("web3.resources.invoke (session)", in_session)
    within("web3.billing.settleSession", settled)
