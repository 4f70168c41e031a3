"""A Celery worker killed with SIGKILL (its whole process group) in the middle of a job, and a new
worker started in its place: in a settlement sweep, after it expired the leases and wrote their
refunds, while it waits for its audit leaf (the test holds their table); and in a notification send, while the
operator's webhook holds the request unanswered. Each settlement is settled once, each notification
acknowledged once (a retry carries the same X-Web3-Notification-Id), and verify_audit is clean."""

from __future__ import annotations

from collections import Counter

from tests.e2e.test_cluster import available
from tests.faults.harness import AUDIT_LEAVES, HeldLock, wait_for

ALWAYS = {"name": "faults-always", "severity": "P1", "metric": "audit_unsealed_events", "comparator": "gte"}


def sweeping_session(cluster) -> tuple[str, int] | None:
    """(role, pid) of a worker's session waiting for a lock after it wrote the expiry of leases."""
    for role in ("worker0", "worker1"):
        for pid in cluster.sessions_waiting(role):
            if cluster.sql(
                "SELECT 1 FROM pg_locks WHERE pid = %s AND relation = 'market_lease'::regclass "
                "AND mode = 'RowExclusiveLock'",
                (pid,),
            ):
                return role, pid
    return None


def settled(cluster, lease_id: str) -> tuple:
    """(status, locked, refunded, transfers, expire events) of a lease's settlement."""
    [(status, locked, refunded, transfers, events)] = cluster.sql(
        "SELECT s.status, s.locked, s.refunded, "
        "(SELECT count(*) FROM market_transfer t WHERE t.reference = %s), "
        "(SELECT count(*) FROM market_auditevent e WHERE e.object_id = %s AND e.action = 'lease.expire') "
        "FROM market_lease l JOIN market_settlement s ON s.id = l.settlement_id WHERE l.lease_id = %s",
        (f"lease:{lease_id}", lease_id, lease_id),
    )
    return status, locked, refunded, transfers, events


def test_a_worker_killed_mid_settlement_sweep_leaves_each_lease_settled_once(faults):
    cluster, consumer = faults.cluster, faults.consumer
    funds = available(consumer)
    issue = {"resourceId": faults.resource_id, "maxCost": "1.00", "ttlSec": 3}
    leases = [consumer.call("web3.leases.issue", issue).result["leaseId"] for _ in range(2)]

    # given the expiry sweep of a worker stopped at its audit leaves, the leases' expiry written
    with HeldLock(cluster, AUDIT_LEAVES):
        role, _ = wait_for(lambda: sweeping_session(cluster), "a worker's expiry sweep to wait at its audit leaf", 30)
        # when that worker is killed, and a new one started
        cluster.kill(role)
    cluster.start(role)

    # then each lease is settled once, by whichever worker runs the sweep next
    for lease_id in leases:
        wait_for(lambda lease_id=lease_id: settled(cluster, lease_id)[0] != "settlement_locked", "the sweep", 60)
        # the lock and the one refund; one expiry recorded
        assert settled(cluster, lease_id) == ("settlement_refunded", 1_000_000, 1_000_000, 2, 1)
    assert available(consumer) == funds


def test_a_worker_killed_mid_notification_send_delivers_each_notification_once(faults):
    cluster, receiver, staff = faults.cluster, faults.receiver, faults.staff

    # given a rule that fires at once, and the webhook holding its notification unanswered
    receiver.hang_next()
    assert staff.call("web3.monitor.upsertRule", {**ALWAYS, "threshold": "0"}).ok
    assert receiver.hanging.wait(30), "no notification reached the webhook"
    hung = receiver.held
    # when the worker sending it is killed, and a new one started
    role = cluster.role_holding(hung["port"])
    cluster.kill(role)
    receiver.let_go.set()
    cluster.start(role)

    # then it is sent again (same id) and acknowledged once; it resolves, and that is sent once too
    wait_for(lambda: hung["id"] in receiver.answered, "the notification to be sent again", 60)
    assert staff.call("web3.monitor.upsertRule", {"name": ALWAYS["name"], "threshold": "1000000000"}).ok

    def resolved_and_told():
        [(status, pending)] = cluster.sql(
            "SELECT a.status, (SELECT count(*) FROM market_alertnotification n WHERE n.status = 'notify_pending') "
            "FROM market_alert a WHERE a.alert_id = %s",
            (hung["alert"]["alertId"],),
        )
        return status == "alert_resolved" and pending == 0

    wait_for(resolved_and_told, "the alert to resolve and every notification to be delivered", 60)
    [(attempts, status)] = cluster.sql(
        "SELECT attempts, status FROM market_alertnotification WHERE notification_id = %s", (hung["id"],)
    )
    assert (attempts, status) == (2, "notify_delivered")
    assert [nid for nid, n in Counter(receiver.answered).items() if n > 1] == []
    assert Counter(r["id"] for r in receiver.received)[hung["id"]] == 2
    told = {(r["alert"]["alertId"], r["event"]) for r in receiver.received if r["id"] in receiver.answered}
    assert {(hung["alert"]["alertId"], "alert.fired"), (hung["alert"]["alertId"], "alert.resolved")} <= told
    assert faults.verify_audit() == "ok"
