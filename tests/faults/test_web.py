"""A web server killed with SIGKILL (gunicorn's master and worker) while two invocations through it
wait on a slow provider. The clients lose their connections; the invocations' reservations hold
(the lease's maxConcurrent of 2 refuses a third call) until their TTL, then the invocations.stale
job fails them, charging nothing. A retry of each with its Idempotency-Key, on the other server,
runs once the dead request's claim is stale and is charged once: the lease has spent exactly what
the two answered calls cost, and nothing stays reserved."""

from __future__ import annotations

import threading
import urllib.error

from tests.cluster import AlternatingApi
from tests.e2e.test_cluster import available
from tests.faults.harness import wait_for


def invocations(cluster, lease_id: str) -> list[tuple[str, int]]:
    return cluster.sql(
        "SELECT i.status, coalesce(i.cost, 0) FROM market_invocation i JOIN market_lease l ON l.id = i.lease_id "
        "WHERE l.lease_id = %s ORDER BY i.id",
        (lease_id,),
    )


def test_a_web_server_killed_mid_invocation_charges_once_and_holds_nothing_past_the_stale_sweep(faults):
    cluster, consumer, provider = faults.cluster, faults.consumer, faults.provider_server.state
    [doomed, survivor] = [AlternatingApi([base], consumer.token, consumer.actor_id) for base in cluster.bases]
    funds = available(survivor)
    lease_id = survivor.call(
        "web3.leases.issue", {"resourceId": faults.resource_id, "maxCost": "0.05", "ttlSec": 600}
    ).result["leaseId"]
    lost = []

    def invoke(n: int) -> None:
        try:
            params = {"leaseId": lease_id, "input": {"q": f"slow {n}"}}
            lost.append(doomed.call("web3.resources.invoke", params, idempotency_key=f"slow-{n}"))
        except (urllib.error.URLError, ConnectionError) as exc:
            lost.append(exc)

    # given two invocations through web0, both waiting on the provider
    provider.release.clear()
    provider.hold = True
    calls = [threading.Thread(target=invoke, args=(n,)) for n in range(2)]
    for call in calls:
        call.start()
    try:
        for _ in calls:
            assert provider.entered.acquire(timeout=30), "the provider was not called"
        # when web0 is killed, master and worker
        cluster.kill("web0")
        for call in calls:
            call.join(30)
        provider.hold = False
        provider.release.set()

        # then the clients lost their answers, and the reservations hold the lease's two slots
        assert len(lost) == 2 and all(not hasattr(r, "status") for r in lost), lost
        third = survivor.call("web3.resources.invoke", {"leaseId": lease_id, "input": {"q": "third"}})
        assert third.body["error"]["code"] == "E_QUOTA_EXCEEDED", third.body
        # until the stale sweep fails them, charging nothing
        wait_for(lambda: invocations(cluster, lease_id) == [("invocation_failed", 0)] * 2, "the stale sweep", 60)

        # a retry of each with its key, on web1, runs once the dead claim is stale, and is charged once
        for n in range(2):
            retried = wait_for(
                lambda n=n: (
                    r
                    if (
                        r := survivor.call(
                            "web3.resources.invoke",
                            {"leaseId": lease_id, "input": {"q": f"slow {n}"}},
                            idempotency_key=f"slow-{n}",
                        )
                    ).ok
                    or r.body["error"]["details"].get("reason") != "idempotency_key_in_flight"
                    else None
                ),
                "the dead request's claim to go stale",
                30,
            )
            assert retried.ok, retried.body
        statuses = [s for s, _ in invocations(cluster, lease_id)]
        assert statuses == ["invocation_failed"] * 2 + ["invocation_succeeded"] * 2
        lease = survivor.call("web3.leases.get", {"leaseId": lease_id}).result
        assert lease["spent"] == "0.020000"
        assert survivor.call("web3.leases.revoke", {"leaseId": lease_id}).ok
        assert available(survivor) == f"{float(funds) - 0.02:.6f}"
    finally:
        provider.hold = False
        provider.release.set()
        if all(role != "web0" for role, _ in cluster.procs):
            cluster.start("web0")
