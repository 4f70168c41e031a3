"""web3.dispute.*: who may open, see, add evidence, rule and appeal; the evidence bundle, quotas,
merged opens and the payout hook."""

from __future__ import annotations

import io
import json

import pytest
import time_machine
from django.core.management import call_command

from market.models import AuditEvent
from market.selectors.disputes import disputes_lost
from tests.task_support import SHA, START, Flow, available, fund, sha256_hex


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cast(clock, sign_in):
    creator, bidder, third = sign_in(), sign_in(), sign_in()
    arbitrator, staff = sign_in(roles=("arbitrator",)), sign_in(roles=("staff",))
    fund(creator.actor_id, "100")
    flow = Flow(creator, bidder).delivered()
    flow.review("reject", "incomplete")
    return {
        "flow": flow,
        "creator": creator,
        "bidder": bidder,
        "third": third,
        "arbitrator": arbitrator,
        "staff": staff,
    }


def sweeps():
    call_command("run_sweeps", stdout=io.StringIO())


def test_only_the_deliverer_opens(cast):
    f = cast["flow"]
    assert cast["creator"].call("web3.dispute.open", {"taskId": f.task["taskId"], "reason": "x"}).code == "E_FORBIDDEN"
    assert cast["third"].call("web3.dispute.open", {"taskId": f.task["taskId"], "reason": "x"}).code == "E_NOT_FOUND"
    assert (
        cast["arbitrator"].call("web3.dispute.open", {"taskId": f.task["taskId"], "reason": "x"}).code == "E_NOT_FOUND"
    )
    first = f.dispute("first").result
    again = f.dispute("second").result
    assert (again["disputeId"], again["merged"], again["reason"]) == (first["disputeId"], True, "first")


def test_visibility_of_a_dispute(cast):
    dispute_id = cast["flow"].dispute().result["disputeId"]
    for who in ("creator", "bidder", "arbitrator", "staff"):
        assert cast[who].call("web3.dispute.get", {"disputeId": dispute_id}).result["disputeId"] == dispute_id
        assert [d["disputeId"] for d in cast[who].call("web3.dispute.list").result["items"]] == [dispute_id]
    assert cast["third"].call("web3.dispute.get", {"disputeId": dispute_id}).code == "E_NOT_FOUND"
    assert cast["third"].call("web3.dispute.list").result["items"] == []
    assert cast["creator"].call("web3.dispute.list", {"status": "dispute_resolved"}).result["items"] == []


def test_who_may_rule_and_appeal(cast, sign_in):
    f = cast["flow"]
    dispute_id = f.dispute().result["disputeId"]
    rule = {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 5000, "rationale": "r"}
    # parties and others without the role, and an arbitrator who is a party, may not rule
    assert cast["creator"].call("web3.dispute.resolve", rule).code == "E_FORBIDDEN"
    assert cast["third"].call("web3.dispute.resolve", rule).code == "E_FORBIDDEN"
    creator_arb = sign_in(cast["creator"].account, roles=("arbitrator",))
    assert creator_arb.call("web3.dispute.resolve", rule).code == "E_FORBIDDEN"
    # param rules
    assert (
        cast["arbitrator"].call("web3.dispute.resolve", {**rule, "payeeShareBps": 10001}).code == "E_INVALID_ARGUMENT"
    )
    no_share = {k: v for k, v in rule.items() if k != "payeeShareBps"}
    assert cast["arbitrator"].call("web3.dispute.resolve", no_share).code == "E_INVALID_ARGUMENT"
    assert cast["arbitrator"].call("web3.dispute.resolve", {**rule, "decision": "decline"}).code == "E_INVALID_ARGUMENT"
    assert cast["arbitrator"].call("web3.dispute.resolve", rule).ok
    # only the parties appeal
    appeal = {"disputeId": dispute_id, "reason": "no"}
    assert cast["arbitrator"].call("web3.dispute.appeal", appeal).code == "E_FORBIDDEN"
    assert cast["third"].call("web3.dispute.appeal", appeal).code == "E_NOT_FOUND"
    assert cast["bidder"].call("web3.dispute.appeal", appeal).result["status"] == "dispute_appealed"


def test_evidence_rules(cast):
    dispute_id = cast["flow"].dispute().result["disputeId"]

    def add(who, **extra):
        params = {"disputeId": dispute_id, "kind": "text", "content": "log", "sha256": sha256_hex("log"), **extra}
        return cast[who].call("web3.dispute.submitEvidence", params)

    assert add("arbitrator").code == "E_FORBIDDEN"
    assert add("third").code == "E_NOT_FOUND"
    assert add("bidder", content="", uri="").code == "E_INVALID_ARGUMENT"
    assert add("bidder", content="x" * 10241, sha256=sha256_hex("x" * 10241)).code == "E_INVALID_ARGUMENT"
    assert add("bidder", content="é" * 5121, sha256=sha256_hex("é" * 5121)).code == "E_INVALID_ARGUMENT"
    assert add("bidder", content="", uri="https://example.org/log", sha256=SHA).ok
    for _ in range(4):
        assert add("bidder").ok
    assert add("bidder").code == "E_QUOTA_EXCEEDED"
    assert add("creator").ok
    items = cast["creator"].call("web3.dispute.get", {"disputeId": dispute_id}).result["evidence"]
    assert [e["submitterActorId"] for e in items].count(cast["bidder"].actor_id) == 5
    assert items[0]["submitterActorId"] == "system"


def test_evidence_bundle(cast):
    f = cast["flow"]
    dispute = f.dispute().result
    bundle_item = dispute["evidence"][0]
    bundle = json.loads(bundle_item["content"])
    assert bundle_item["sha256"] == sha256_hex(bundle_item["content"])
    assert bundle["task"]["taskId"] == f.task["taskId"] and bundle["task"]["hash"] == f.task["hash"]
    assert bundle["award"]["awardId"] == f.award["awardId"]
    assert bundle["result"]["artifacts"] == [{"name": "out.txt", "sha256": SHA}]
    assert bundle["settlement"] == {
        "settlementId": f.award["settlementId"],
        "status": "settlement_locked",
        "locked": "8.000000",
        "released": "0.000000",
        "refunded": "0.000000",
        "remaining": "8.000000",
    }
    actions = list(
        AuditEvent.objects.filter(event_id__in=bundle["auditEventIds"]).order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["task.publish", "bid.place", "settlement.lock", "task.award", "result.submit", "result.review"]


def test_disputes_per_day(clock, sign_in, settings):
    settings.WEB3_DISPUTES_PER_DAY = 1
    creator, bidder = sign_in(), sign_in()
    fund(creator.actor_id, "100")
    flows = [Flow(creator, bidder).delivered() for _ in range(2)]
    for f in flows:
        f.review("reject")
    assert flows[0].dispute().ok
    assert flows[1].dispute().code == "E_QUOTA_EXCEEDED"


def test_payout_waits_on_the_gate(cast, clock, monkeypatch):
    # given a ruling whose payout gate is not yet satisfied
    f = cast["flow"]
    dispute_id = f.dispute().result["disputeId"]
    cast["arbitrator"].call(
        "web3.dispute.resolve", {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 2500, "rationale": "r"}
    )
    monkeypatch.setattr("market.services.task_sweeps.ruling_payout_ready", lambda d: False)
    monkeypatch.setattr("market.selectors.tasks.payout_wait_reason", lambda d: "checkpoint")
    clock.shift(3601)
    sweeps()
    # then nothing moved and the receipt says what it waits for
    receipt = f.get_task()["receipt"]
    assert (receipt["status"], receipt["payoutWaitingFor"]) == ("receipt_disputed", "checkpoint")
    assert available(f.bidder.actor_id) == 0
    # when the gate opens the sweep pays
    monkeypatch.undo()
    sweeps()
    receipt = f.get_task()["receipt"]
    assert (receipt["status"], receipt["payoutWaitingFor"]) == ("receipt_settled", None)
    assert available(f.bidder.actor_id) == 2_000_000
    assert available(f.creator.actor_id) == 98_000_000
    assert disputes_lost(f.bidder.actor_id) == 1 and disputes_lost(f.creator.actor_id) == 0


def test_dispute_list_costs_the_same_queries_for_many_ruled_disputes(clock, sign_in, settings):
    from django.db import connection
    from eth_account import Account

    from market.audit.anchoring import anchor_sweep
    from market.audit.checkpoints import seal_sweep

    settings.WEB3_ANCHOR_RPC_URL = "tester://"
    settings.WEB3_ANCHOR_PRIVATE_KEY = Account.create().key.hex()
    creator, arbitrator = sign_in(), sign_in(roles=("arbitrator",))
    fund(creator.actor_id, "100")

    def ruled_dispute() -> None:
        flow = Flow(creator, sign_in()).delivered()
        flow.review("reject", "incomplete")
        dispute_id = flow.dispute().result["disputeId"]
        assert arbitrator.call(
            "web3.dispute.resolve",
            {"disputeId": dispute_id, "decision": "rule", "payeeShareBps": 5000, "rationale": "half"},
        ).ok

    def queries() -> int:
        sent = []

        def count(execute, sql, params, many, context):
            sent.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            items = arbitrator.call("web3.dispute.list").result["items"]
        # each shows its own checkpoint, the first covering its ruling, and that checkpoint's anchor
        for d in items:
            seal = d["ruling"]["seal"]
            assert seal == arbitrator.call("web3.dispute.get", {"disputeId": d["disputeId"]}).result["ruling"]["seal"]
            assert seal["treeSize"] > d["ruling"]["eventSeq"] and seal["anchor"]["status"] == "anchored"
        return len(sent)

    # given one ruled dispute, sealed and anchored, then four, each in a checkpoint of its own
    ruled_dispute()
    seal_sweep()
    anchor_sweep()
    anchor_sweep()
    few = queries()
    for _ in range(3):
        ruled_dispute()
        seal_sweep()
        anchor_sweep()
        anchor_sweep()

    # then listing them costs the same number of queries (no query per dispute for its seal or evidence)
    items = arbitrator.call("web3.dispute.list").result["items"]
    assert len({d["ruling"]["seal"]["treeSize"] for d in items}) == 4
    assert queries() == few
