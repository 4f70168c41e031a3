"""Rotating the vault operator key: a withdrawal signed by the old key goes out with its stored
bytes, the vault's owner switches the operator, and the next withdrawal is signed by the new key;
the ledger and the chain agree to the unit."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from market.audit.verify import problems
from market.models import Withdrawal
from market.onchain import client
from market.onchain.deploy import transact
from market.services.funds_deposits import deposit_scan
from market.services.funds_withdrawals import withdrawal_sign, withdrawal_sweep
from tests.funds_support import CONFIRMATIONS, UNIT, funded_account

S = Withdrawal.Status


def rotate_key(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_key", *args, stdout=out)
    return out.getvalue()


def settle(test_chain, withdrawal_id: str) -> Withdrawal:
    for _ in range(CONFIRMATIONS + 3):
        withdrawal_sweep()
        w = Withdrawal.objects.get(withdrawal_id=withdrawal_id)
        if w.status == S.COMPLETED:
            return w
        test_chain.mine(1)
    raise AssertionError(f"withdrawal stayed {w.status}")


@pytest.mark.keypath
def test_operator_rotation_keeps_signed_withdrawals_and_signs_new_ones_with_the_new_key(
    db, sign_in, test_chain, settings
):
    # given: 100 USDC credited, and a withdrawal signed (not yet sent) by the current operator
    wallet = test_chain.wallet()
    api = sign_in(wallet)
    test_chain.deposit(wallet, 100 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    old = test_chain.operator.address.lower()
    assert f"(none recorded) -> {old}" in rotate_key("operator")
    first = api.call("web3.funds.withdraw", {"amount": "10", "currency": "USDC"}).result["withdrawalId"]
    assert withdrawal_sign(withdrawal_id=first, chain=client.funds_chain())
    signed = Withdrawal.objects.get(withdrawal_id=first)

    # when: the key is switched (the vault still names the old operator)
    new = funded_account(test_chain.w3)
    settings.WEB3_OPERATOR_PRIVATE_KEY = new.key.hex()
    out = rotate_key("operator")
    assert f"{old} -> {new.address.lower()}" in out
    assert "1 transaction(s) signed by a previous key are in flight" in out
    assert f"the vault's operator is {old}, not yet the new key" in out
    assert new.key.hex().removeprefix("0x") not in out

    # then: the old key's withdrawal is sent with its stored bytes and completes
    done = settle(test_chain, first)
    assert (done.raw_tx, done.tx_hash, done.sender) == (signed.raw_tx, signed.tx_hash, old)
    assert "in flight" not in rotate_key("operator")

    # when: the vault's owner names the new operator, a new withdrawal is signed by the new key
    transact(test_chain.w3, test_chain.owner, test_chain.vault.functions.setOperator(new.address))
    assert "the vault's operator is the new key" in rotate_key("operator")
    second = api.call("web3.funds.withdraw", {"amount": "15", "currency": "USDC"}).result["withdrawalId"]
    assert settle(test_chain, second).sender == new.address.lower()

    # then: the chain and the ledger agree
    assert test_chain.balance_of(wallet.address) == (1_000 - 100 + 25) * UNIT
    assert test_chain.vault_balance() == 75 * UNIT
    assert list(problems()) == []
