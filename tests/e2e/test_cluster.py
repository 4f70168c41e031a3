"""Two web servers and two Celery workers (and one beat) on one PostgreSQL and one Redis, with the
local chain (`manage.py devchain`) as a process of its own: a client whose every call goes to the
other server signs in, deposits tokens through the vault, leases, invokes, revokes, runs a task to
its payout and withdraws, and the workers do what the sweeps find (credit the deposit, settle, seal,
send the withdrawal), so nothing a request needs lives in one process's memory (deploy/ runs the
market this way), and the vault and the ledger reconcile at the end."""

from __future__ import annotations

import os
import time

import pytest
from eth_account import Account
from web3 import Web3

from tests.cluster import AlternatingApi, Cluster
from tests.conftest import is_postgres, sign
from tests.provider_server import ProviderServer
from tests.resource_helpers import publish
from tests.task_support import Flow

ERC20_BALANCE_ABI = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


@pytest.fixture(scope="module")
def cluster():
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not (database_url.startswith("postgres") and redis_url.startswith("redis")):
        pytest.skip("needs DATABASE_URL (PostgreSQL) and REDIS_URL: several processes share only those")
    with Cluster(database_url, redis_url, chain=True) as running:
        yield running


def sign_in(cluster: Cluster, account=None) -> AlternatingApi:
    account = account or Account.create()
    anon = AlternatingApi(cluster.bases)
    challenge = anon.call("web3.siwe.challenge", {"address": account.address}).result  # on one server
    verified = anon.call(  # verified on the other
        "web3.siwe.verify", {"message": challenge["message"], "signature": sign(account, challenge["message"])}
    ).result
    return AlternatingApi(cluster.bases, verified["token"], verified["actorId"], account)


def wait_for(fn, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def available(api: AlternatingApi) -> str:
    return api.call("web3.ledger.summary").result.get("USDC", {}).get("available", "0.000000")


def send_calls(w3: Web3, wallet, info: dict) -> None:
    """Sign and send depositInfo's ready-made calls from `wallet`, in order, as a wallet app would."""
    for call in info["calls"]:
        tx = {
            "to": Web3.to_checksum_address(call["to"]),
            "data": call["data"],
            "value": 0,
            "chainId": info["chainId"],
            "nonce": w3.eth.get_transaction_count(wallet.address),
            "gasPrice": w3.eth.gas_price,
        }
        tx["gas"] = w3.eth.estimate_gas({**tx, "from": wallet.address})
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(wallet.sign_transaction(tx).raw_transaction))


def test_lease_task_and_funds_flows_through_two_servers_and_two_workers(cluster):
    assert is_postgres()
    chain = cluster.devchain
    w3 = Web3(Web3.HTTPProvider(chain["rpcUrl"]))
    token = w3.eth.contract(address=Web3.to_checksum_address(chain["token"]), abi=ERC20_BALANCE_ABI)
    wallet = Account.from_key(chain["accounts"][0]["privateKey"])
    provider, consumer = sign_in(cluster), sign_in(cluster, wallet)

    # the consumer deposits 20 USDC through the vault; a worker credits it after the confirmation
    info = consumer.call("web3.funds.depositInfo", {"currency": "USDC", "amount": "20"}).result
    send_calls(w3, wallet, info)
    wait_for(lambda: available(consumer) == "20.000000", "the deposit to be credited")

    with ProviderServer() as server:
        # a resource published through one server is leased, invoked and revoked through both
        resource = publish(provider, server).result
        lease = consumer.call(
            "web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "1.00", "ttlSec": 600}
        )
        lease = lease.result
        for n in range(4):
            out = consumer.call(
                "web3.resources.invoke",
                {"leaseId": lease["leaseId"], "input": {"q": f"query {n}"}},
                idempotency_key=f"invoke-{n}",
            )
            assert out.ok, out.body
        # a retry of a call made on one server, sent to the other, has one effect
        again = consumer.call(
            "web3.resources.invoke",
            {"leaseId": lease["leaseId"], "input": {"q": "query 3"}},
            idempotency_key="invoke-3",
        )
        assert again.result == out.result
        assert len(server.state.requests) == 4
        revoked = consumer.call("web3.leases.revoke", {"leaseId": lease["leaseId"]}).result
        assert revoked["status"] == "lease_revoked"
        assert available(provider) == "0.040000"
        assert available(consumer) == "19.960000"

        # a lease left to expire is settled by beat and a worker (not by any request)
        short = consumer.call("web3.leases.issue", {"resourceId": resource["resourceId"], "maxCost": "2", "ttlSec": 1})
        short = short.result
        assert available(consumer) == "17.960000"
        settled = wait_for(
            lambda: consumer.call("web3.leases.get", {"leaseId": short["leaseId"]}).result["status"] == "lease_expired",
            "the expiry sweep",
        )
        assert settled
        assert available(consumer) == "19.960000"

    # a task from publish to payout, each step on the other server
    creator, bidder = consumer, provider
    flow = Flow(creator, bidder, budget="5.000000", price="3.000000").delivered()
    accepted = flow.review("accept").result
    assert accepted["receipt"]["status"] == "receipt_settled"
    assert available(bidder) == "3.040000"
    assert available(creator) == "16.960000"

    # both servers served the calls, and the workers sealed what was done into a checkpoint
    assert set(consumer.served) == set(cluster.bases) == set(provider.served)
    event = creator.call("web3.audit.query", {"objectId": flow.task["taskId"]}).result["items"][0]
    wait_for(
        lambda: creator.call("web3.audit.proof", {"eventId": event["eventId"]}).ok,
        "the seal sweep",
    )

    # the creator withdraws 6.96 USDC to its wallet: held at once, sent by a worker, completed
    before = token.functions.balanceOf(wallet.address).call()
    w = creator.call("web3.funds.withdraw", {"amount": "6.96", "currency": "USDC"}, idempotency_key="w-1").result
    assert available(creator) == "10.000000"

    def completed():
        items = creator.call("web3.funds.list", {"kind": "withdrawal"}).result["items"]
        return next(i for i in items if i["id"] == w["withdrawalId"])["status"] == "withdrawal_completed"

    wait_for(completed, "the withdrawal to complete")
    assert token.functions.balanceOf(wallet.address).call() - before == 6_960_000
    # and the vault holds exactly what the ledger says it does
    wait_for(
        lambda: creator.call("web3.status.summary").result["parts"]["funds"]["status"] == "ok", "the reconciliation"
    )
    assert cluster.manage("verify_audit").strip() == "ok"
