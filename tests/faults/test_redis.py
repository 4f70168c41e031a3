"""Redis killed (SIGKILL, nothing saved: it comes back empty) while both web servers serve and beat
runs, then started again. The API keeps answering and no call gets E_INTERNAL: the per-method rate
limit, counted in Redis, fails open (README "Faults"), and a job that could not be queued is left to
its periodic sweep. Once Redis is back, beat and the workers carry on and every sweep catches up
from the database (the outbox): the lease issued meanwhile
expires and is settled, the withdrawal requested meanwhile is sent and completed, and the events
written meanwhile are sealed. Then the rate limit holds again."""

from __future__ import annotations

from eth_account import Account

from tests.cluster import AlternatingApi
from tests.e2e.test_cluster import available, sign_in
from tests.faults.harness import wait_for

LIMITED = "web3.capabilities.list"  # 5 calls a minute (tests/faults/conftest.py)


def refused_within(api: AlternatingApi, calls: int) -> list[int]:
    return [api.call(LIMITED).status for _ in range(calls)]


def test_redis_down_the_api_answers_limits_fail_open_and_the_sweeps_catch_up(faults):
    cluster, consumer, redis = faults.cluster, faults.consumer, faults.redis
    anon = AlternatingApi(cluster.bases)
    funds = available(consumer)
    # given the limit counted in Redis across both servers: 11 calls span at most two windows of 5
    assert 429 in refused_within(anon, 11)

    # when Redis dies
    redis.kill()
    answers = refused_within(anon, 8)
    newcomer = sign_in(cluster, Account.create())  # challenge on one server, verify on the other
    lease = consumer.call("web3.leases.issue", {"resourceId": faults.resource_id, "maxCost": "2", "ttlSec": 1})
    withdrawal = consumer.call("web3.funds.withdraw", {"amount": "1", "currency": "USDC"}, idempotency_key="r-w1")
    event = consumer.call("web3.audit.query", {"objectId": lease.result["leaseId"]})
    summary = newcomer.call("web3.ledger.summary")

    # then every call was answered, and the limit let the calls through
    assert answers == [200] * 8
    for answer in (lease, withdrawal, event, summary):
        assert answer.ok, answer.body
    assert available(consumer) == f"{float(funds) - 3:.6f}"  # the lease's 2 locked, the 1 withdrawn held
    lease_id, withdrawal_id = lease.result["leaseId"], withdrawal.result["withdrawalId"]

    def withdrawal_status():
        items = consumer.call("web3.funds.list", {"kind": "withdrawal"}).result["items"]
        return next(i for i in items if i["id"] == withdrawal_id)["status"]

    # when Redis is back (empty: whatever was queued is gone)
    redis.start()
    # then the sweeps catch up: the lease expires and is refunded, the withdrawal completes, the
    # events are sealed
    wait_for(
        lambda: consumer.call("web3.leases.get", {"leaseId": lease_id}).result["status"] == "lease_expired",
        "the expiry sweep",
        90,
    )
    wait_for(lambda: withdrawal_status() == "withdrawal_completed", "the withdrawal to complete", 90)
    wait_for(
        lambda: consumer.call("web3.audit.proof", {"eventId": event.result["items"][0]["eventId"]}).ok,
        "the seal sweep",
        90,
    )
    assert available(consumer) == f"{float(funds) - 1:.6f}"
    # and the limit holds again
    assert 429 in refused_within(anon, 11)
