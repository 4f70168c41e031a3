"""Reconciliation of the vault with the ledger on web3's in-process chain: clean after deposits and
withdrawals, a P0 alert naming the difference when tokens leave the vault behind the ledger's back
(the operator key used outside the market), verify_audit reporting it, and /metrics' chain figures."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from market.audit.verify import problems
from market.models import VaultReconciliation
from market.onchain.deploy import transact
from market.services.funds_deposits import deposit_scan
from market.services.funds_reconcile import vault_reconcile
from market.services.funds_withdrawals import withdrawal_sweep
from tests.funds_support import CONFIRMATIONS, UNIT
from tests.monitor_support import alerts, default_rules, evaluate  # noqa: F401 - default_rules: a fixture

pytestmark = [pytest.mark.keypath, pytest.mark.usefixtures("default_rules")]


@pytest.fixture
def settled(sign_in, test_chain):
    """An actor that deposited 50 USDC and withdrew 20 (completed), every job run."""
    wallet = test_chain.wallet()
    api = sign_in(wallet)
    test_chain.deposit(wallet, 50 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    assert api.call("web3.funds.withdraw", {"amount": "20", "currency": "USDC"}).ok
    for _ in range(CONFIRMATIONS + 1):
        withdrawal_sweep()
        test_chain.mine(1)
    deposit_scan()
    return api


def test_after_deposits_and_withdrawals_the_vault_reconciles(db, staff, settled, test_chain):
    # when the reconciliation runs
    report = vault_reconcile()
    # then the vault holds exactly what the ledger says, and no alert fires
    assert report == {"USDC": "0.000000"}
    row = VaultReconciliation.objects.get()
    assert (int(row.onchain), int(row.expected)) == (30 * UNIT, 30 * UNIT)
    evaluate()
    assert alerts(staff, "invariant-violation") == []
    assert list(problems()) == []
    assert staff.call("web3.status.summary").result["parts"]["funds"]["status"] == "ok"


def test_tokens_moved_out_of_the_vault_behind_the_ledgers_back_raise_a_p0_naming_the_difference(
    db, staff, settled, test_chain
):
    # given the operator key used outside the market: 5 USDC leave the vault with no withdrawal
    outside = test_chain.vault.functions.withdraw(
        test_chain.token.address, test_chain.owner.address, 5 * UNIT, b"\x99" * 32
    )
    transact(test_chain.w3, test_chain.operator, outside)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    # when the reconciliation and the monitor run
    assert vault_reconcile() == {"USDC": "-5.000000"}
    evaluate()
    # then the P0 rule fires naming the currency and the amount
    (alert,) = alerts(staff, "invariant-violation")
    assert alert["severity"] == "P0"
    (violation,) = [v for v in alert["details"]["violations"] if v["monitor"] == "vault_reconciliation"]
    assert violation["objects"] == ["USDC"]
    assert "5.000000 USDC less than the ledger's reserve" in violation["message"]
    part = staff.call("web3.status.summary").result["parts"]["funds"]
    assert (part["status"], "5.000000 USDC less" in part["message"]) == ("down", True)
    # and verify_audit reports it and exits 1
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("verify_audit", stdout=io.StringIO(), stderr=err)
    assert "5.000000 USDC less" in err.getvalue()


def test_metrics_show_the_chain_head_lag_last_block_and_pending_withdrawals(db, client, settled, test_chain):
    # given a withdrawal still pending
    assert settled.call("web3.funds.withdraw", {"amount": "1", "currency": "USDC"}).ok
    test_chain.mine(2)
    deposit_scan()
    # when /metrics is scraped
    text = client.get("/metrics").content.decode()
    # then it carries the deposit job's position and the live withdrawals
    lines = {line.split(" ")[0]: line.split(" ")[1] for line in text.splitlines() if line.startswith("web3_")}
    assert float(lines["web3_funds_pending_withdrawals"]) == 1
    assert float(lines["web3_chain_head_lag_blocks"]) == CONFIRMATIONS - 1
    assert float(lines["web3_chain_last_processed_block"]) == test_chain.w3.eth.block_number - CONFIRMATIONS + 1
