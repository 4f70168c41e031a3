"""web3.admin.overview|resources|leases|ledger|disputes|retrySweep: staff see the whole market's
figures through the gateway; anyone else is refused; a page costs the same queries at any size."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from market.audit.sequencer import audit_sequence
from market.models import OperationFailure
from market.services import leases as lease_services
from market.services import ledger
from openclaw.periodic import run_job
from tests.resource_helpers import USDC, fund, search_resource
from tests.task_support import Flow, sha256_hex

ADMIN_READS = [
    "web3.admin.overview",
    "web3.admin.resources",
    "web3.admin.leases",
    "web3.admin.ledger",
    "web3.admin.disputes",
]


def _lease(provider: str, consumer: str, *, ttl_sec: int = 3600):
    resource = search_resource(provider)
    return lease_services.lease_issue(
        resource_id=resource.resource_id,
        consumer_actor_id=consumer,
        max_cost=2 * USDC,
        currency="USDC",
        max_cost_text="2",
        ttl_sec=ttl_sec,
    )


def _queries(api, name: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.call(name, params or {}).ok
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", [*ADMIN_READS, "web3.admin.retrySweep"])
def test_non_staff_are_refused_every_admin_method(alice, anon, name):
    # given a signed-in actor without the staff role, and no caller at all
    params = {"job": "leases.expire"} if name.endswith("retrySweep") else {}
    # when each calls the method
    refused = alice.call(name, params)
    nobody = anon.call(name, params)
    # then the actor is E_FORBIDDEN and nobody is E_AUTH_REQUIRED
    assert (refused.status, refused.code) == (403, "E_FORBIDDEN")
    assert nobody.code == "E_AUTH_REQUIRED"


def test_overview_shows_the_settlement_queue_with_what_each_waits_for(staff, sign_in):
    # given a funded consumer with two leases, one of them expired an hour ago (stuck: no sweep ran)
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        stuck = _lease(provider.actor_id, consumer.actor_id, ttl_sec=3600)
    live = _lease(provider.actor_id, consumer.actor_id)

    # when staff read the overview
    result = staff.call("web3.admin.overview").result

    # then both open settlements are queued, oldest first, with what each waits for
    queue = result["settlements"]["oldest"]
    assert [q["objectId"] for q in queue] == [stuck.lease_id, live.lease_id]
    assert [q["waitingFor"] for q in queue] == ["lease_expiry", "lease_in_use"]
    assert [q["overdue"] for q in queue] == [True, False]
    assert result["settlements"]["open"] == 2
    assert result["settlements"]["byAge"] == {"lt1h": 1, "lt24h": 1, "lt7d": 0, "older": 0}
    assert result["settlements"]["locked"]["USDC"] == "4.000000"
    # and the supply counts the stuck lease, the status has its parts, the invariants are unread
    assert result["supply"]["activeLeases"] == 2 and result["supply"]["stuckLeases"] == 1
    assert result["supply"]["byKind"]["search"] == 2
    assert {"database", "ledger", "audit"} <= set(result["status"]["parts"])
    assert result["invariants"]["state"] == "unknown"
    assert result["volume"]["last24h"]["USDC"] == "0.000000"


def test_overview_follows_a_task_from_delivery_to_the_ruling(staff, sign_in):
    # given a task awarded, then delivered and rejected, then disputed
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, 50)
    flow = Flow(creator, bidder).publish()

    def waiting() -> list[str]:
        return [q["waitingFor"] for q in staff.call("web3.admin.overview").result["settlements"]["oldest"]]

    steps = []
    for step in ("place_bid", "award_bid", "submit"):
        getattr(flow, step)()
        steps.append(waiting())
    assert flow.review("reject").ok
    steps.append(waiting())
    assert flow.dispute().ok
    overview = staff.call("web3.admin.overview").result
    steps.append([q["waitingFor"] for q in overview["settlements"]["oldest"]])

    # then the queue says what the task's settlement waits for at each step
    assert steps == [[], ["delivery"], ["review"], ["dispute_window"], ["ruling"]]
    assert overview["disputes"]["open"] == 1 and overview["disputes"]["oldestAgeSec"] >= 0
    assert overview["settlements"]["oldest"][0]["objectType"] == "task"


def test_resources_list_every_status_with_index_sync_and_health(staff, sign_in):
    # given two resources, one unpublished
    provider = sign_in()
    kept, gone = search_resource(provider.actor_id), search_resource(provider.actor_id)
    assert provider.call("web3.resources.unpublish", {"resourceId": gone.resource_id}).ok

    # when staff list them, and only the unpublished ones
    every = staff.call("web3.admin.resources").result["items"]
    unpublished = staff.call("web3.admin.resources", {"status": "resource_unpublished"}).result["items"]

    # then both show, newest first, never reported to the index, with no endpoint
    assert [r["resourceId"] for r in every] == [gone.resource_id, kept.resource_id]
    assert [r["resourceId"] for r in unpublished] == [gone.resource_id]
    assert {r["indexSync"] for r in every} == {"unreported"} and {r["health"] for r in every} == {"stale"}
    assert every[1]["activeLeases"] == 0 and every[1]["providerActorId"] == provider.actor_id
    assert "search.example.net" not in str(every)


def test_leases_show_progress_stuck_ones_and_failed_sweeps(staff, sign_in):
    # given a stuck lease and a live one, and a failed run of the expiry sweep
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        stuck = _lease(provider.actor_id, consumer.actor_id)
    _lease(provider.actor_id, consumer.actor_id)
    OperationFailure.objects.create(operation="job:leases.expire", kind="internal")

    # when staff list the stuck leases
    page = staff.call("web3.admin.leases", {"stuck": True}).result

    # then only the stuck one shows, with its settlement and progress, and the failed sweep is named
    assert [i["leaseId"] for i in page["items"]] == [stuck.lease_id]
    item = page["items"][0]
    assert item["stuck"] is True and item["spentBps"] == 0
    assert item["settlement"]["status"] == "settlement_locked" and item["settlement"]["locked"] == "2.000000"
    assert page["stuck"] == 1
    assert [(s["job"], s["failures"]) for s in page["failedSweeps"]] == [("leases.expire", 1)]

    # when staff retry the sweep
    retried = staff.call("web3.admin.retrySweep", {"job": "leases.expire"}).result

    # then the stuck lease is expired and settled, and none is stuck any more
    assert retried["job"] == "leases.expire"
    assert staff.call("web3.admin.leases", {"stuck": True}).result["items"] == []
    assert staff.call("web3.admin.leases", {"status": "lease_expired"}).result["items"][0]["settlement"]["status"] == (
        "settlement_refunded"
    )


def test_ledger_lists_transfers_events_and_traces_one_object(staff, sign_in):
    # given a deposit and a lease
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    lease = _lease(provider.actor_id, consumer.actor_id)

    # when staff read the ledger filtered by actor, with the lease's trace
    result = staff.call(
        "web3.admin.ledger", {"actorId": consumer.actor_id, "traceType": "lease", "traceId": lease.lease_id}
    ).result

    # then both transfers show with their accounts, newest first, and the lease's events and lock
    assert [(t["code"], t["amount"]) for t in result["items"]] == [
        ("escrow_lock", "2.000000"),
        ("deposit", "10.000000"),
    ]
    assert result["items"][0]["debit"] == {"actorId": consumer.actor_id, "kind": "actor"}
    assert result["trace"]["objectId"] == lease.lease_id
    assert [e["action"] for e in result["trace"]["events"]][0] == "lease.issue"
    assert result["trace"]["events"][0]["treeSize"] is None  # not sealed yet
    assert [t["code"] for t in result["trace"]["transfers"]] == ["escrow_lock"]
    assert result["recentEvents"] and result["checkpoint"] is None


def test_ledger_trace_needs_both_params_and_a_known_object(staff):
    half = staff.call("web3.admin.ledger", {"traceType": "lease"})
    unknown = staff.call("web3.admin.ledger", {"traceType": "lease", "traceId": "lease_nothing"})
    assert half.code == "E_INVALID_ARGUMENT" and "traceId" in half.body["error"]["details"]["fields"]
    assert unknown.code == "E_NOT_FOUND"


def test_disputes_show_amount_evidence_and_filters(staff, sign_in):
    # given a disputed task
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, 50)
    flow = Flow(creator, bidder).delivered()
    assert flow.review("reject").ok
    dispute = flow.dispute().result
    assert bidder.call(
        "web3.dispute.submitEvidence",
        {"disputeId": dispute["disputeId"], "kind": "note", "content": "x", "sha256": sha256_hex("x")},
    ).ok

    # when staff list disputes, and those of another party
    mine = staff.call("web3.admin.disputes", {"partyActorId": bidder.actor_id}).result["items"]
    other = staff.call("web3.admin.disputes", {"partyActorId": staff.actor_id}).result["items"]

    # then the dispute shows its amount, its evidence (the market's bundle and the note) and age
    assert [d["disputeId"] for d in mine] == [dispute["disputeId"]] and other == []
    assert mine[0]["amount"] == "8.000000" and mine[0]["currency"] == "USDC"
    assert mine[0]["evidenceCount"] == 2 and mine[0]["ageSec"] >= 0
    assert mine[0]["evidence"][0]["submitterActorId"] == "system"


def test_pages_cost_the_same_queries_for_50_and_500_objects(staff, sign_in):
    # given 50 leases (each with its resource, settlement and transfers)
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 5000)

    def add(n):
        for _ in range(n):
            _lease(provider.actor_id, consumer.actor_id)

    add(50)
    audit_sequence()  # as after their commits: the test's own transaction never commits
    few = {name: _queries(staff, name) for name in ADMIN_READS}
    # when there are 500
    add(450)
    ledger.deposit(actor_id=consumer.actor_id, amount=USDC, currency="USDC")
    audit_sequence()
    many = {name: _queries(staff, name) for name in ADMIN_READS}
    # then every page costs the same queries
    assert many == few


def test_overview_reads_the_figures_the_overview_job_stored(staff, sign_in):
    # given one lease, and the overview job run as beat runs it
    provider, consumer = sign_in(), sign_in()
    fund(consumer.actor_id, 10)
    _lease(provider.actor_id, consumer.actor_id)
    assert run_job("monitor.overview").startswith("overview computed in ")
    stored = staff.call("web3.admin.overview").result
    assert (stored["stored"], stored["settlements"]["open"]) == (True, 1)
    assert stored["computedAt"] == stored["checkedAt"] and stored["tookMs"] >= 0
    # when a second lease is issued
    _lease(provider.actor_id, consumer.actor_id)
    # then the stored figures stand until the job runs again, in one query; fresh computes them now
    assert staff.call("web3.admin.overview").result["settlements"]["open"] == 1
    assert _queries(staff, "web3.admin.overview") + 10 < _queries(staff, "web3.admin.overview", {"fresh": True})
    fresh = staff.call("web3.admin.overview", {"fresh": True}).result
    assert (fresh["stored"], fresh["settlements"]["open"]) == (False, 2)
    run_job("monitor.overview")
    assert staff.call("web3.admin.overview").result["settlements"]["open"] == 2
