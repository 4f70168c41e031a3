"""The chain's RPC down (`manage.py devchain` stopped, then started again on the same port, its
state kept): a deposit sent just before, a withdrawal requested and checkpoints sealed meanwhile.
The API answers throughout without E_INTERNAL; nothing is lost or done twice: the deposit is
credited once, the withdrawal completes on chain, every checkpoint is anchored; the alert on
anchoring failures fires while the chain is away and resolves once it is back, and the operator's
webhook is told both."""

from __future__ import annotations

import signal

from eth_account import Account

from tests.e2e.test_cluster import ERC20_BALANCE_ABI, available, send_calls
from tests.faults.harness import wait_for

RULE = {"name": "faults-anchor-failures", "severity": "P1", "metric": "anchor_failures", "threshold": "0"}


def alert_of(cluster, rule: str) -> list[tuple[str, str]]:
    return cluster.sql(
        "SELECT a.alert_id, a.status FROM market_alert a JOIN market_alertrule r ON r.id = a.rule_id "
        "WHERE r.name = %s ORDER BY a.id",
        (rule,),
    )


def test_chain_down_loses_nothing_and_its_alert_fires_and_resolves(faults):
    cluster, consumer, w3 = faults.cluster, faults.consumer, faults.w3
    chain = cluster.devchain
    wallet = Account.from_key(chain["accounts"][0]["privateKey"])
    token = w3.eth.contract(address=w3.to_checksum_address(chain["token"]), abi=ERC20_BALANCE_ABI)
    assert faults.staff.call("web3.monitor.upsertRule", RULE).ok
    funds, on_chain = available(consumer), token.functions.balanceOf(wallet.address).call()

    # given a deposit of 5 sent, and the chain gone right after it
    send_calls(w3, wallet, consumer.call("web3.funds.depositInfo", {"currency": "USDC", "amount": "5"}).result)
    cluster.kill("devchain", signal.SIGTERM)

    # when a withdrawal of 2 is requested and events are written while it is away
    withdrawal = consumer.call("web3.funds.withdraw", {"amount": "2", "currency": "USDC"}, idempotency_key="c-w1")
    assert withdrawal.ok, withdrawal.body
    for method in ("web3.funds.depositInfo", "web3.funds.list", "web3.status.summary", "web3.ledger.summary"):
        params = {"currency": "USDC", "amount": "1"} if method == "web3.funds.depositInfo" else {}
        answer = consumer.call(method, params)
        assert answer.ok or answer.body["error"]["code"] == "E_UNAVAILABLE", (method, answer.body)
    # then the anchoring fails and its alert fires
    wait_for(lambda: [s for _, s in alert_of(cluster, RULE["name"])] == ["alert_active"], "the alert to fire", 60)

    # when the chain is back
    cluster.start("devchain")
    cluster._await_devchain()

    # then the deposit is credited once, the withdrawal completes, every checkpoint is anchored
    wait_for(lambda: available(consumer) == f"{float(funds) + 3:.6f}", "the deposit and the withdrawal", 90)

    def completed():
        items = consumer.call("web3.funds.list", {"kind": "withdrawal"}).result["items"]
        [mine] = [i for i in items if i["id"] == withdrawal.result["withdrawalId"]]
        return mine["status"] == "withdrawal_completed"

    wait_for(completed, "the withdrawal to complete", 90)
    assert token.functions.balanceOf(wallet.address).call() - on_chain == -3_000_000  # 5 in, 2 out
    [(alert_id, _)] = alert_of(cluster, RULE["name"])
    wait_for(lambda: alert_of(cluster, RULE["name"]) == [(alert_id, "alert_resolved")], "the alert to resolve", 90)
    wait_for(
        lambda: cluster.sql("SELECT count(*) FROM market_checkpointanchor WHERE status <> 'anchor_anchored'") == [(0,)],
        "every checkpoint to be anchored",
        60,
    )
    receiver = faults.receiver
    wait_for(
        lambda: (
            {("alert.fired", alert_id), ("alert.resolved", alert_id)}
            <= {(r["event"], r["alert"]["alertId"]) for r in receiver.received if r["id"] in receiver.answered}
        ),
        "the webhook to be told",
        30,
    )
    assert available(consumer) == f"{float(funds) + 3:.6f}"  # credited once, not again
