"""The database session of a web server ended by PostgreSQL (pg_terminate_backend) in the middle of
a money transaction: after the lease's escrow lock and its transfer were written, while it waits
at its audit leaf (the last write of every money transaction). The client gets a stable,
retryable E_UNAVAILABLE; nothing of the transaction is stored; a retry with the same
Idempotency-Key has one effect, and a second retry replays it."""

from __future__ import annotations

import threading

from tests.e2e.test_cluster import available
from tests.faults.harness import AUDIT_LEAVES, HeldLock, wait_for

# What a lease issue writes, counted for one consumer (sweeps write beside the test meanwhile).
OF_CONSUMER = {
    "leases": "SELECT count(*) FROM market_lease WHERE consumer_actor_id = %s",
    "settlements": "SELECT count(*) FROM market_settlement WHERE payer_actor_id = %s",
    "transfers": "SELECT count(*) FROM market_transfer t JOIN market_account a ON a.id = t.debit_account_id "
    "WHERE a.actor_id = %s",
    "events": "SELECT count(*) FROM market_auditevent WHERE actor_id = %s",
}


def counts(cluster, actor_id: str) -> dict[str, int]:
    return {name: cluster.sql(query, (actor_id,))[0][0] for name, query in OF_CONSUMER.items()}


def writing_session(cluster) -> int | None:
    """A web server's session waiting for a lock while its transaction holds written transfers."""
    for role in ("web0", "web1"):
        for pid in cluster.sessions_waiting(role):
            wrote = cluster.sql(
                "SELECT 1 FROM pg_locks WHERE pid = %s AND relation = 'market_transfer'::regclass "
                "AND mode = 'RowExclusiveLock'",
                (pid,),
            )
            if wrote:
                return pid
    return None


def test_a_session_cut_mid_transaction_is_unavailable_stores_nothing_and_a_retry_has_one_effect(faults):
    cluster, consumer = faults.cluster, faults.consumer
    params = {"resourceId": faults.resource_id, "maxCost": "1.50", "ttlSec": 600}
    before, funds = counts(cluster, consumer.actor_id), available(consumer)
    answer = {}

    # given a lease being issued, its escrow written, waiting for its audit leaf (the test holds their table)
    with HeldLock(cluster, AUDIT_LEAVES):
        call = threading.Thread(
            target=lambda: answer.update(r=consumer.call("web3.leases.issue", params, idempotency_key="cut-1"))
        )
        call.start()
        pid = wait_for(lambda: writing_session(cluster), "the lease's transaction to wait at its audit leaf", 20)
        # when PostgreSQL ends that session
        assert cluster.sql("SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
    call.join(30)

    # then the client is told to try again, and nothing of the transaction is left
    cut = answer["r"]
    assert (cut.status, cut.body["error"]["code"]) == (503, "E_UNAVAILABLE"), cut.body
    assert cut.body["error"]["details"]["retryAfterSec"] >= 1
    assert int(cut.headers["Retry-After"]) >= 1
    assert counts(cluster, consumer.actor_id) == before
    assert available(consumer) == funds

    # a retry with the same key issues the lease once; another retry replays it
    first = consumer.call("web3.leases.issue", params, idempotency_key="cut-1")
    again = consumer.call("web3.leases.issue", params, idempotency_key="cut-1")
    assert first.ok, first.body
    assert again.result["leaseId"] == first.result["leaseId"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    after = counts(cluster, consumer.actor_id)
    assert {k: after[k] - before[k] for k in after} == {"leases": 1, "settlements": 1, "transfers": 1, "events": 2}
    assert available(consumer) == f"{float(funds) - 1.5:.6f}"
    assert consumer.call("web3.leases.revoke", {"leaseId": first.result["leaseId"]}).ok
    assert available(consumer) == funds
