"""The demo's money on chain: when the market has a chain (scripts/run starts `manage.py devchain`),
each demo actor deposits its funds from its own wallet through the vault (the approve and deposit
calls web3.funds.depositInfo gives), and the deposit job credits them; step_funds' ledger credits
are then left out; and the bidder withdraws 5 back to its wallet (the worker sends it). Once per
actor: one who has a deposit (or a withdrawal) is skipped."""

from __future__ import annotations

from collections.abc import Callable

from eth_account import Account

from market.models import Deposit, Withdrawal
from market.money import format_amount
from market.onchain import client
from market.onchain.deploy import send
from market.services.funds import deposit_info, withdrawal_request
from market.services.funds_deposits import deposit_scan
from web3api.demo.actors import DemoWallet

AMOUNTS = {"consumer": 500, "creator": 1000, "bidder": 50, "provider": 20}


def on_chain() -> bool:
    return client.configured()


def step_funds_on_chain(wallets: dict[str, DemoWallet], out: Callable[[str], None]) -> None:
    if not on_chain():
        return
    chain = client.funds_chain()
    w3 = chain.w3
    for currency in client.tokens():
        sent = []
        for name, whole in AMOUNTS.items():
            wallet = wallets[name]
            if Deposit.objects.filter(actor_id=wallet.address, currency=currency).exists():
                continue
            amount = whole * 10 ** chain.token(currency).functions.decimals().call()
            account = Account.from_key(wallet.key)
            for call in deposit_info(actor_id=wallet.address, currency=currency, amount=amount)["calls"]:
                send(w3, account, {"to": w3.to_checksum_address(call["to"]), "data": call["data"], "value": 0})
            sent.append((name, amount))
        if sent:
            deposit_scan(chain=chain)
            for name, amount in sent:
                out(f"{name} deposited {format_amount(amount, currency)} {currency} on chain, credited once confirmed")
    bidder = wallets["bidder"]
    for currency in client.tokens():
        if not Withdrawal.objects.filter(actor_id=bidder.address, currency=currency).exists():
            amount = 5 * 10 ** chain.token(currency).functions.decimals().call()
            w = withdrawal_request(actor_id=bidder.address, amount=amount, currency=currency)
            out(f"bidder withdrew {format_amount(amount, currency)} {currency} to its wallet: {w.withdrawal_id}")
