"""web3.funds.* through the gateway: unavailable until the chain is configured (saying what to set),
depositInfo's ready-made calls deposit for the caller when a wallet sends them, and web3.funds.list."""

from __future__ import annotations

import pytest

from market.services.funds_deposits import deposit_scan
from tests.funds_support import CONFIRMATIONS, UNIT

pytestmark = pytest.mark.keypath


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("web3.funds.depositInfo", {"currency": "USDC", "amount": "1"}),
        ("web3.funds.withdraw", {"currency": "USDC", "amount": "1"}),
    ],
)
def test_without_chain_settings_funds_are_unavailable_naming_what_to_set(db, settings, sign_in, method, params):
    # given no chain settings
    settings.WEB3_CHAIN_RPC_URL, settings.WEB3_VAULT_ADDRESS, settings.WEB3_OPERATOR_PRIVATE_KEY = "", "", ""
    # when a client asks
    r = sign_in().call(method, params)
    # then E_UNAVAILABLE names the settings, and nothing else (no path, no key)
    assert (r.status, r.code) == (503, "E_UNAVAILABLE")
    assert "WEB3_CHAIN_RPC_URL" in r.body["error"]["message"]
    assert "WEB3_VAULT_ADDRESS" in r.body["error"]["details"]["missing"]


def test_deposit_info_calls_sent_by_a_wallet_credit_the_caller(db, sign_in, test_chain):
    # given a signed-in actor and another wallet holding test tokens (it pays for the actor)
    api = sign_in()
    payer = test_chain.wallet()
    # when the actor asks how to deposit 12.34 USDC
    info = api.call("web3.funds.depositInfo", {"currency": "USDC", "amount": "12.34"}).result
    # then it names the chain, vault, token, decimals and confirmations
    assert (info["chainId"], info["vault"], info["token"]) == (
        test_chain.w3.eth.chain_id,
        test_chain.vault.address.lower(),
        test_chain.token.address.lower(),
    )
    assert (info["decimals"], info["confirmations"], info["amount"]) == (6, CONFIRMATIONS, "12.340000")
    assert [c["description"].split(":")[0] for c in info["calls"]] == ["approve", "deposit"]
    # when the paying wallet sends the calls as they are
    w3 = test_chain.w3
    for c in info["calls"]:
        tx = {"from": payer.address, "to": w3.to_checksum_address(c["to"]), "data": c["data"], "value": 0}
        tx.update(nonce=w3.eth.get_transaction_count(payer.address), gas=200_000, gasPrice=w3.eth.gas_price)
        tx["chainId"] = w3.eth.chain_id
        signed = payer.sign_transaction({k: v for k, v in tx.items() if k != "from"})
        assert w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))["status"] == 1
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    # then the caller (not the paying wallet) is credited, and web3.funds.list shows the deposit
    summary = api.call("web3.ledger.summary").result
    assert summary["USDC"]["available"] == "12.340000"
    (item,) = api.call("web3.funds.list").result["items"]
    assert (item["kind"], item["status"], item["amount"], item["from"]) == (
        "deposit",
        "deposit_credited",
        "12.340000",
        payer.address.lower(),
    )
    assert item["confirmations"] >= CONFIRMATIONS
    assert item["txHash"].startswith("0x")


def test_funds_list_shows_only_the_callers_own(db, sign_in, test_chain):
    wallet = test_chain.wallet()
    owner, other = sign_in(wallet), sign_in()
    test_chain.deposit(wallet, 2 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    assert owner.call("web3.funds.withdraw", {"currency": "USDC", "amount": "1"}).ok
    kinds = sorted(i["kind"] for i in owner.call("web3.funds.list").result["items"])
    assert kinds == ["deposit", "withdrawal"]
    assert other.call("web3.funds.list").result["items"] == []
    page = owner.call("web3.funds.list", {"kind": "withdrawal", "limit": 1}).result
    assert [i["status"] for i in page["items"]] == ["withdrawal_pending"]


def test_a_withdrawal_to_defaults_to_the_callers_wallet(db, sign_in, test_chain):
    wallet = test_chain.wallet()
    api = sign_in(wallet)
    test_chain.deposit(wallet, 2 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    w = api.call("web3.funds.withdraw", {"currency": "USDC", "amount": "1.5"}).result
    assert (w["to"], w["amount"], w["status"]) == (api.actor_id, "1.500000", "withdrawal_pending")


@pytest.mark.parametrize("to", ["zero", "vault"])
def test_a_withdrawal_to_the_zero_address_or_the_vault_is_refused(db, sign_in, test_chain, to):
    api = sign_in()
    address = "0x" + "00" * 20 if to == "zero" else test_chain.vault.address
    r = api.call("web3.funds.withdraw", {"currency": "USDC", "amount": "1", "to": address})
    assert (r.status, r.code, list(r.body["error"]["details"]["fields"])) == (400, "E_INVALID_ARGUMENT", ["to"])
