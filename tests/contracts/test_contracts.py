"""The contracts: the committed artifacts are what the sources compile to, and the vault's rules
hold on an in-process chain (eth-tester)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from market import contracts
from market.onchain.deploy import deploy_market, send, transact

DAY = 86400
LIMIT = 1_000 * 10**6


@pytest.mark.parametrize("name", contracts.NAMES)
def test_committed_artifacts_are_what_the_source_compiles_to(name):
    # given the committed artifact / when the source is compiled again / then they are the same
    assert contracts.compile_artifact(name) == contracts.artifact(name)


@pytest.fixture(scope="module")
def w3():
    return Web3(EthereumTesterProvider())


def _funded(w3) -> Account:
    acct = Account.create()
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": 10**20})
    )
    return acct


@pytest.fixture
def market(w3):
    owner, operator, user = _funded(w3), _funded(w3), _funded(w3)
    token, vault = deploy_market(w3, owner, operator=operator.address, daily_limit=LIMIT)
    transact(w3, user, token.functions.faucet(5_000 * 10**6))
    return {"owner": owner, "operator": operator, "user": user, "token": token, "vault": vault}


def _deposit(w3, m, amount, actor=None):
    transact(w3, m["user"], m["token"].functions.approve(m["vault"].address, amount))
    return transact(w3, m["user"], m["vault"].functions.deposit(m["token"].address, amount, actor or m["user"].address))


def _reverts(w3, account, fn, reason: str):
    with pytest.raises((ContractLogicError, TransactionFailed), match=reason):
        fn.call({"from": account.address})


def test_test_token_has_six_decimals_and_a_capped_faucet(w3, market):
    token = market["token"]
    assert token.functions.decimals().call() == 6
    assert token.functions.balanceOf(market["user"].address).call() == 5_000 * 10**6
    _reverts(w3, market["user"], token.functions.faucet(10**12 + 1), "faucet limit")


def test_deposit_pulls_the_tokens_and_names_the_actor(w3, market):
    # given an approved amount / when deposited for another actor
    actor = Account.create().address
    receipt = _deposit(w3, market, 250 * 10**6, actor=actor)
    # then the vault holds it and Deposited names payer, actor and amount
    (event,) = market["vault"].events.Deposited().process_receipt(receipt, errors=DISCARD)
    assert (event.args.payer, event.args.actor, event.args.amount) == (market["user"].address, actor, 250 * 10**6)
    assert market["token"].functions.balanceOf(market["vault"].address).call() == 250 * 10**6


def test_deposit_of_a_token_not_allowed_is_refused(w3, market):
    other = market["token"].address
    transact(w3, market["owner"], market["vault"].functions.configureToken(other, False, 0))
    _reverts(w3, market["user"], market["vault"].functions.deposit(other, 1, market["user"].address), "not allowed")


def test_only_the_operator_withdraws_and_each_id_once(w3, market):
    # given a deposit
    _deposit(w3, market, 300 * 10**6)
    vault, token, to = market["vault"], market["token"], Account.create().address
    wid = b"\x01" * 32
    # when someone else withdraws / then refused
    _reverts(w3, market["user"], vault.functions.withdraw(token.address, to, 10, wid), "not the operator")
    # when the operator withdraws / then paid, and the same id is refused afterwards
    transact(w3, market["operator"], vault.functions.withdraw(token.address, to, 100 * 10**6, wid))
    assert token.functions.balanceOf(to).call() == 100 * 10**6
    _reverts(w3, market["operator"], vault.functions.withdraw(token.address, to, 1, wid), "withdrawal id used")


def test_the_daily_limit_holds_within_a_day_and_resets_the_next(w3, market):
    # given a vault holding more than a day's limit
    transact(w3, market["user"], market["token"].functions.faucet(10**12))
    _deposit(w3, market, 3 * LIMIT)
    vault, token, op, to = market["vault"], market["token"], market["operator"], Account.create().address
    day_start = (w3.eth.get_block("latest")["timestamp"] // DAY + 1) * DAY
    w3.provider.ethereum_tester.time_travel(day_start + 10)
    # when the operator withdraws the whole limit / then one more unit is refused that day
    transact(w3, op, vault.functions.withdraw(token.address, to, LIMIT, b"\x02" * 32))
    assert vault.functions.withdrawableToday(token.address).call() == 0
    _reverts(w3, op, vault.functions.withdraw(token.address, to, 1, b"\x03" * 32), "daily limit")
    # when the next day comes / then the limit is available again
    w3.provider.ethereum_tester.time_travel(day_start + DAY + 10)
    transact(w3, op, vault.functions.withdraw(token.address, to, LIMIT, b"\x03" * 32))
    assert token.functions.balanceOf(to).call() == 2 * LIMIT


def test_pause_stops_withdrawals_and_deposits_and_only_the_owner_pauses(w3, market):
    _deposit(w3, market, 10 * 10**6)
    vault, token = market["vault"], market["token"]
    _reverts(w3, market["operator"], vault.functions.pause(), "not the owner")
    # when the owner pauses / then neither withdrawals nor deposits pass
    transact(w3, market["owner"], vault.functions.pause())
    wid = b"\x04" * 32
    _reverts(w3, market["operator"], vault.functions.withdraw(token.address, market["user"].address, 1, wid), "paused")
    _reverts(w3, market["user"], vault.functions.deposit(token.address, 1, market["user"].address), "paused")
    # when unpaused / then withdrawals pass again
    transact(w3, market["owner"], vault.functions.unpause())
    transact(w3, market["operator"], vault.functions.withdraw(token.address, market["user"].address, 1, wid))


def test_ownership_moves_in_two_steps(w3, market):
    vault, new_owner = market["vault"], _funded(w3)
    # when the owner names a new owner / then nothing changes until it accepts
    transact(w3, market["owner"], vault.functions.transferOwnership(new_owner.address))
    assert vault.functions.owner().call() == market["owner"].address
    _reverts(w3, market["user"], vault.functions.acceptOwnership(), "not the pending owner")
    transact(w3, new_owner, vault.functions.acceptOwnership())
    # then the new owner rules and the old one does not
    assert vault.functions.owner().call() == new_owner.address
    _reverts(w3, market["owner"], vault.functions.pause(), "not the owner")
    transact(w3, new_owner, vault.functions.setOperator(market["user"].address))
    assert vault.functions.operator().call() == market["user"].address


def test_plain_value_transfer_to_the_vault_is_refused(w3, market):
    with pytest.raises((TransactionFailed, RuntimeError)):  # no payable default function: reverted
        send(w3, market["user"], {"to": market["vault"].address, "value": 1, "gas": 100_000})
