"""Deposits on web3's in-process chain: the funds.deposits job credits each confirmed Deposited log
once, from the currency's reserve account, and stops with a P0 alert when the chain reorganised
below the confirmed depth."""

from __future__ import annotations

import pytest

from market.audit.verify import problems
from market.models import Account, AuditEvent, ChainCursor, Deposit
from market.selectors.ledger import balances
from market.services.funds_deposits import _credit_range, deposit_scan
from tests.funds_support import CONFIRMATIONS, UNIT
from tests.monitor_support import alerts, default_rules, evaluate  # noqa: F401 - default_rules: a fixture

pytestmark = pytest.mark.keypath


def available(actor_id: str) -> int:
    return balances(actor_id)["USDC"]["available"]


def reserve_balance() -> int:
    acc = Account.objects.filter(actor_id="vault", kind="external", currency="USDC").first()
    return 0 if acc is None else acc.balance


def test_a_deposit_is_credited_once_after_its_confirmations_and_not_before(db, test_chain):
    # given a wallet that deposits 25 USDC for itself
    wallet = test_chain.wallet()
    actor = wallet.address.lower()
    receipt = test_chain.deposit(wallet, 25 * UNIT)
    # when the job runs with fewer confirmations than required
    test_chain.mine(CONFIRMATIONS - 2)
    deposit_scan()
    # then nothing is credited yet
    assert available(actor) == 0
    # when the deposit's block has its confirmations
    test_chain.mine(1)
    result = deposit_scan()
    # then the actor is credited from the reserve, once, with the deposit's row and audit event
    assert result["credited"] == 1
    assert available(actor) == 25 * UNIT
    assert reserve_balance() == -25 * UNIT
    deposit = Deposit.objects.get()
    assert (deposit.tx_hash, deposit.actor_id, deposit.amount) == (
        "0x" + receipt["transactionHash"].hex().removeprefix("0x"),
        actor,
        25 * UNIT,
    )
    event = AuditEvent.objects.get(action="funds.deposit_credited")
    assert deposit.tx_hash in event.payload
    # when the job runs again, later
    test_chain.mine(5)
    deposit_scan()
    # then nothing is credited twice, and the ledger verifies
    assert available(actor) == 25 * UNIT
    assert list(problems()) == []


def test_a_deposit_for_another_actor_credits_that_actor(db, test_chain):
    wallet, actor = test_chain.wallet(), "0x" + "ab" * 20
    test_chain.deposit(wallet, 7 * UNIT, actor_id=actor)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    assert (available(actor), available(wallet.address.lower())) == (7 * UNIT, 0)


def test_the_same_log_seen_twice_credits_once(db, test_chain):
    # given a confirmed deposit the job has credited
    wallet = test_chain.wallet()
    test_chain.deposit(wallet, 3 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    cursor = ChainCursor.objects.get()
    log = Deposit.objects.values(
        "tx_hash", "log_index", "block_number", "block_hash", "token", "currency", "payer", "actor_id", "amount"
    ).get()
    # when the same log is offered again in a range the cursor has not passed (a second reader)
    ChainCursor.objects.filter(pk=cursor.pk).update(last_block=log["block_number"] - 1)
    credited = _credit_range(
        cursor.pk, start=log["block_number"], end=cursor.last_block, end_hash=cursor.last_block_hash, head=0, logs=[log]
    )
    # then it is not credited again
    assert credited == 0
    assert available(wallet.address.lower()) == 3 * UNIT
    assert Deposit.objects.count() == 1


def test_ranges_are_bounded_and_the_cursor_remembers_block_and_hash(db, settings, test_chain):
    # given three deposits in separate blocks and ranges of two blocks, one range a run
    settings.WEB3_CHAIN_BLOCK_RANGE, settings.WEB3_CHAIN_MAX_RANGES = 2, 1
    wallet = test_chain.wallet()
    for _ in range(3):
        test_chain.deposit(wallet, UNIT)
    test_chain.mine(CONFIRMATIONS)
    # when the job runs until nothing is left
    head = test_chain.w3.eth.block_number
    runs = 0
    while deposit_scan()["lastBlock"] < head - CONFIRMATIONS + 1:
        runs += 1
    # then every deposit is credited once, and the cursor's hash is the chain's at its block
    assert available(wallet.address.lower()) == 3 * UNIT
    cursor = ChainCursor.objects.get()
    block = test_chain.w3.eth.get_block(cursor.last_block)
    assert cursor.last_block_hash == "0x" + block["hash"].hex().removeprefix("0x")
    assert runs > 1


@pytest.mark.usefixtures("default_rules")
def test_a_reorg_below_the_confirmed_depth_is_detected_alerted_and_not_credited_twice(db, staff, test_chain):
    # given a credited deposit and the chain as it was before it
    wallet = test_chain.wallet()
    snapshot = test_chain.tester.take_snapshot()
    test_chain.deposit(wallet, 10 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    assert available(wallet.address.lower()) == 10 * UNIT
    # when the chain is reorganised: the deposit's blocks are replaced by others (another deposit)
    test_chain.tester.revert_to_snapshot(snapshot)
    test_chain.deposit(wallet, 4 * UNIT)
    test_chain.mine(CONFIRMATIONS + 2)
    result = deposit_scan()
    # then the job stops instead of crediting, and the P0 rule names the chain
    assert result["credited"] == 0
    assert result["reorg"] is not None
    assert available(wallet.address.lower()) == 10 * UNIT
    assert deposit_scan()["credited"] == 0
    evaluate()
    (alert,) = alerts(staff, "invariant-violation")
    assert alert["severity"] == "P0"
    monitors = [v["monitor"] for v in alert["details"]["violations"]]
    assert "chain_reorg" in monitors
    # and the status summary says the funds part is down, and why
    part = staff.call("web3.status.summary").result["parts"]["funds"]
    assert part["status"] == "down"
    assert "reorganised" in part["message"]


def test_without_chain_settings_the_job_is_off(db, settings):
    settings.WEB3_CHAIN_RPC_URL = ""
    assert deposit_scan() == {"funds": "off"}
