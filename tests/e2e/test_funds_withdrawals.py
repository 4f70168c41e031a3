"""Withdrawals on web3's in-process chain, through web3.funds.withdraw and the funds.withdrawals job:
exact balances on chain and in the ledger, a failed broadcast retried with the very same signed
bytes, a withdrawal the vault refuses refunded, and the vault's pause and daily limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from web3 import Web3

from market.audit.verify import problems
from market.models import Account, Withdrawal
from market.onchain import client
from market.onchain.deploy import transact
from market.selectors.ledger import balances
from market.services.funds_deposits import deposit_scan
from market.services.funds_withdrawals import withdrawal_broadcast, withdrawal_sign, withdrawal_sweep
from tests.funds_support import CONFIRMATIONS, DAILY_LIMIT, UNIT
from tests.wallet_support import agent_api

pytestmark = pytest.mark.keypath
S = Withdrawal.Status


def figures(actor_id: str) -> tuple[int, int]:
    b = balances(actor_id)["USDC"]
    return b["available"], b["locked"]


def reserve_balance() -> int:
    return Account.objects.get(actor_id="vault", kind="external", currency="USDC").balance


@pytest.fixture
def depositor(sign_in, test_chain):
    """A signed-in actor whose wallet deposited 100 USDC, credited."""
    wallet = test_chain.wallet()
    api = sign_in(wallet)
    test_chain.deposit(wallet, 100 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    assert figures(api.actor_id) == (100 * UNIT, 0)
    return api


def sweep_until(status: str, withdrawal_id: str, test_chain, runs: int = 6) -> Withdrawal:
    for _ in range(runs):
        withdrawal_sweep()
        w = Withdrawal.objects.get(withdrawal_id=withdrawal_id)
        if w.status == status:
            return w
        test_chain.mine(1)
    raise AssertionError(f"withdrawal stayed {w.status}")


def test_a_withdrawal_end_to_end_with_exact_balances_on_chain_and_in_the_ledger(db, depositor, test_chain):
    # given 100 USDC credited and a receiving wallet
    to = "0x" + "5e" * 20
    # when the actor withdraws 30.5 USDC to it
    w = depositor.call("web3.funds.withdraw", {"amount": "30.5", "currency": "USDC", "to": to}).result
    # then 30.5 is held at once (not available, not yet gone)
    assert w["status"] == S.PENDING
    assert figures(depositor.actor_id) == (69_500_000, 30_500_000)
    # when the job signs and sends it, and it is not yet confirmed
    withdrawal_sweep()
    row = Withdrawal.objects.get(withdrawal_id=w["withdrawalId"])
    assert row.status == S.SENT
    assert test_chain.balance_of(to) == 30_500_000
    # then the hold stays until the confirmations
    assert figures(depositor.actor_id) == (69_500_000, 30_500_000)
    # when the confirmations are there
    row = sweep_until(S.COMPLETED, w["withdrawalId"], test_chain)
    # then the ledger and the chain agree to the unit
    assert figures(depositor.actor_id) == (69_500_000, 0)
    assert reserve_balance() == -69_500_000
    assert test_chain.vault_balance() == 69_500_000
    assert test_chain.balance_of(to) == 30_500_000
    items = depositor.call("web3.funds.list", {"kind": "withdrawal"}).result["items"]
    assert (items[0]["status"], items[0]["txHash"], items[0]["to"]) == (S.COMPLETED, row.tx_hash, to)
    assert list(problems()) == []


def test_withdrawing_more_than_available_is_refused_and_holds_nothing(db, depositor):
    r = depositor.call("web3.funds.withdraw", {"amount": "100.000001", "currency": "USDC"})
    assert (r.status, r.code) == (402, "E_INSUFFICIENT_FUNDS")
    assert figures(depositor.actor_id) == (100 * UNIT, 0)
    assert Withdrawal.objects.count() == 0


def test_a_failed_broadcast_is_retried_with_the_same_signed_bytes(db, depositor, test_chain):
    # given a withdrawal signed and stored, and a chain the first broadcast cannot reach
    w = depositor.call("web3.funds.withdraw", {"amount": "10", "currency": "USDC"}).result
    chain = client.funds_chain()
    assert withdrawal_sign(withdrawal_id=w["withdrawalId"], chain=chain)
    signed = Withdrawal.objects.get(withdrawal_id=w["withdrawalId"])
    unreachable = client.FundsChain(
        w3=Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1})), account=chain.account
    )
    # when the broadcast fails
    with pytest.raises(Exception):  # noqa: B017, PT011 - the connection is refused
        withdrawal_broadcast(withdrawal_id=w["withdrawalId"], chain=unreachable)
    # then nothing was sent and the stored transaction is unchanged
    assert Withdrawal.objects.get(withdrawal_id=w["withdrawalId"]).status == S.SIGNED
    assert test_chain.balance_of(depositor.actor_id) == 900 * UNIT
    # when the job runs again with the chain back
    row = sweep_until(S.COMPLETED, w["withdrawalId"], test_chain)
    # then the transaction on chain is the stored one, byte for byte (its hash is of those bytes)
    assert (row.raw_tx, row.tx_hash, row.nonce) == (signed.raw_tx, signed.tx_hash, signed.nonce)
    mined = test_chain.w3.eth.get_transaction(row.tx_hash)
    assert "0x" + mined["hash"].hex().removeprefix("0x") == signed.tx_hash
    assert test_chain.balance_of(depositor.actor_id) == 910 * UNIT
    assert figures(depositor.actor_id) == (90 * UNIT, 0)


def test_a_withdrawal_the_vault_refuses_on_chain_is_refunded(db, depositor, test_chain):
    # given a withdrawal signed while the vault was open
    w = depositor.call("web3.funds.withdraw", {"amount": "40", "currency": "USDC"}).result
    assert withdrawal_sign(withdrawal_id=w["withdrawalId"], chain=client.funds_chain())
    # when the owner pauses the vault before it is mined, and the job sends it
    transact(test_chain.w3, test_chain.owner, test_chain.vault.functions.pause())
    row = sweep_until(S.REFUNDED, w["withdrawalId"], test_chain)
    # then the chain reverted it, nothing left the vault, and the hold went back to the actor
    assert test_chain.w3.eth.get_transaction_receipt(row.tx_hash)["status"] == 0
    assert test_chain.vault_balance() == 100 * UNIT
    assert figures(depositor.actor_id) == (100 * UNIT, 0)
    assert reserve_balance() == -100 * UNIT
    assert list(problems()) == []


def test_a_paused_vault_holds_the_withdrawal_until_unpaused(db, depositor, test_chain):
    # given a paused vault
    transact(test_chain.w3, test_chain.owner, test_chain.vault.functions.pause())
    w = depositor.call("web3.funds.withdraw", {"amount": "5", "currency": "USDC"}).result
    # when the job runs: the vault refuses the call
    withdrawal_sweep()
    row = Withdrawal.objects.get(withdrawal_id=w["withdrawalId"])
    # then it waits, unsigned, with the refusal noted and a later attempt scheduled
    assert (row.status, row.attempts, row.nonce) == (S.PENDING, 1, None)
    assert row.last_error == "the vault refuses the call now"
    # when unpaused and the attempt is due
    transact(test_chain.w3, test_chain.owner, test_chain.vault.functions.unpause())
    later = timezone.now() + timedelta(hours=2)
    for _ in range(CONFIRMATIONS + 1):
        withdrawal_sweep(now=later)
        test_chain.mine(1)
    # then it completes
    assert Withdrawal.objects.get(withdrawal_id=w["withdrawalId"]).status == S.COMPLETED


def test_over_the_daily_limit_the_vault_refuses_and_after_the_attempts_it_is_refunded(
    db, settings, depositor, test_chain
):
    # given a vault whose daily limit is 1 USDC and one attempt before a refund
    settings.WEB3_WITHDRAWAL_MAX_ATTEMPTS = 1
    limit = 1 * UNIT
    transact(
        test_chain.w3,
        test_chain.owner,
        test_chain.vault.functions.configureToken(test_chain.token.address, True, limit),
    )
    # when the actor withdraws more than the day's limit
    w = depositor.call("web3.funds.withdraw", {"amount": "2", "currency": "USDC"}).result
    withdrawal_sweep()
    # then nothing was signed, and the amount is back
    row = Withdrawal.objects.get(withdrawal_id=w["withdrawalId"])
    assert (row.status, row.raw_tx) == (S.REFUNDED, "")
    assert figures(depositor.actor_id) == (100 * UNIT, 0)
    assert test_chain.vault_balance() == 100 * UNIT
    assert limit < DAILY_LIMIT


def test_an_agent_token_cannot_withdraw_whatever_its_scopes_say(db, depositor, test_chain):
    # given an agent token of the depositor whose scopes name every funds method
    agent = agent_api(depositor, scopes=["web3.funds.*"])
    # when the agent asks to withdraw to a wallet of its choosing
    out = agent.call("web3.funds.withdraw", {"amount": "10", "currency": "USDC", "to": "0x" + "5e" * 20})
    # then it is refused before anything is held: withdrawals are the owner's wallet's, not a delegate's
    assert (out.status, out.code) == (403, "E_FORBIDDEN")
    assert "spends only through sessions" in out.body["error"]["message"]
    assert figures(depositor.actor_id) == (100 * UNIT, 0)
    assert not Withdrawal.objects.exists()
    # while the funds it may read stay readable
    assert agent.call("web3.funds.list").ok
