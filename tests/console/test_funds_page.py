"""The console's funds page: the deposit calls ready to sign, the actor's deposits and withdrawals
with their states, and a withdrawal that holds the amount at once (the in-process chain)."""

from __future__ import annotations

from market.models import Withdrawal
from market.selectors.ledger import balances
from market.services.funds_deposits import deposit_scan
from tests.console.support import console_sign_in
from tests.funds_support import CONFIRMATIONS, UNIT


def test_funds_page_shows_the_deposit_calls_and_withdraws(db, client, test_chain):
    # given an actor signed into the console whose wallet deposited 40 USDC, credited
    wallet = test_chain.wallet()
    console_sign_in(client, wallet)
    actor_id = wallet.address.lower()
    test_chain.deposit(wallet, 40 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()

    # when it asks how to deposit 25 USDC
    page = client.get("/console/funds/", {"currency": "USDC", "amount": "25.00"}).content.decode()
    # then the page shows the vault, the token and both calls, and the credited deposit
    assert test_chain.vault.address.lower() in page and test_chain.token.address.lower() in page
    assert "approve: let the vault take 25.000000 USDC" in page
    assert "deposit_credited" in page and "40.000000" in page

    # when it withdraws 15 USDC to its own wallet
    r = client.post("/console/funds/", {"currency": "USDC", "amount": "15", "to": ""}, follow=True)
    # then the amount is held at once and the page says what happened
    assert "is held and will be sent from the vault" in r.content.decode()
    w = Withdrawal.objects.get()
    assert (w.to_address, w.amount, w.status) == (actor_id, 15 * UNIT, Withdrawal.Status.PENDING)
    assert balances(actor_id)["USDC"]["available"] == 25 * UNIT


def test_a_refused_withdrawal_lands_on_its_field(db, client, test_chain):
    # given an actor with nothing deposited
    console_sign_in(client, test_chain.wallet())
    # when it withdraws more than it has
    r = client.post("/console/funds/", {"currency": "USDC", "amount": "5", "to": ""})
    # then the form comes back with the market's refusal and nothing is recorded
    assert r.status_code == 400
    assert "the amount exceeds the available balance" in r.content.decode()
    assert not Withdrawal.objects.exists()


def test_without_a_chain_the_page_says_what_to_set(db, client):
    # given no chain configured
    console_sign_in(client)
    # when the actor asks how to deposit
    page = client.get("/console/funds/", {"currency": "USDC", "amount": "1"}).content.decode()
    # then the page says deposits are not available and names the settings
    assert "not available here" in page and "WEB3_CHAIN_RPC_URL" in page
