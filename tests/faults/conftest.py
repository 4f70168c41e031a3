"""One cluster for every fault test (tests/faults/harness.py): the local chain, two web servers,
two Celery workers and beat on a scratch PostgreSQL database and a Redis of the tests' own, with
the alert webhook pointing at a receiver in the test. Each test breaks one part and mends it
before it ends, so the next one starts from a whole cluster. PostgreSQL only: on SQLite the
processes would share a file, not a server whose sessions can be cut."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pytest
from eth_account import Account
from web3 import Web3

from tests.cluster import AlternatingApi
from tests.e2e.test_cluster import available, send_calls, sign_in
from tests.faults.harness import FaultCluster, RedisServer, WebhookReceiver, wait_for
from tests.provider_server import ProviderServer
from tests.resource_helpers import publish

# Short clocks, so that what a fault leaves behind is swept in seconds, not minutes.
FAST = {
    "WEB3_SWEEP_INTERVAL_SEC": "1",
    "WEB3_RETRY_BASE_SEC": "1",
    "WEB3_INVOCATION_RESERVATION_TTL_SEC": "3",
    "WEB3_IDEMPOTENCY_STALE_SEC": "4",
    "WEB3_ALERT_WEBHOOK_TIMEOUT_SEC": "1",
    "WEB3_ALERT_CLAIM_SEC": "1",
    # a small limit on one method, to see where it holds and where it fails open
    "WEB3_RATE_LIMITS": "web3.capabilities.list=5/m",
}


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.faults)


@dataclass
class Faults:
    cluster: FaultCluster
    redis: RedisServer
    receiver: WebhookReceiver
    provider_server: ProviderServer
    w3: Web3
    provider: AlternatingApi
    consumer: AlternatingApi
    staff: AlternatingApi
    resource_id: str

    def verify_audit(self) -> str:
        return self.cluster.manage("verify_audit").strip()


@pytest.fixture(scope="session")
def faults():
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not (database_url.startswith("postgres") and redis_url.startswith("redis")):
        pytest.skip("fault tests need DATABASE_URL (PostgreSQL) and REDIS_URL: they cut real servers' sessions")
    if not shutil.which("redis-server"):
        pytest.skip("fault tests start a Redis of their own: redis-server not found")
    receiver, redis, server = WebhookReceiver(), RedisServer().start(), ProviderServer().__enter__()
    cluster = FaultCluster(database_url, redis, chain=True)
    cluster.shared.update(FAST, WEB3_ALERT_WEBHOOK_URL=receiver.url)
    try:
        with cluster:
            chain = cluster.devchain
            w3 = Web3(Web3.HTTPProvider(chain["rpcUrl"]))
            wallet = Account.from_key(chain["accounts"][0]["privateKey"])
            provider, consumer, staff = sign_in(cluster), sign_in(cluster, wallet), sign_in(cluster)
            made_staff = cluster.manage_in_background("actor_role", staff.actor_id, "--add", "staff")
            deposit = consumer.call("web3.funds.depositInfo", {"currency": "USDC", "amount": "100"}).result
            send_calls(w3, wallet, deposit)
            resource = publish(provider, server, policy={"maxConcurrent": 2}).result
            wait_for(lambda: available(consumer) == "100.000000", "the deposit to be credited")
            assert made_staff.wait(120) == 0
            yield Faults(cluster, redis, receiver, server, w3, provider, consumer, staff, resource["resourceId"])
    finally:
        server.__exit__()
        redis.kill()
        receiver.close()
        shutil.rmtree(redis.dir, ignore_errors=True)
