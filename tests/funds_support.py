"""Funds on web3's in-process chain: a fresh TestToken and MarketVault per test (the chain outlives
each test's database), the market pointed at them, and a user wallet with test tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account

from market.audit import chain as anchor_chain
from market.onchain.deploy import deploy_market, transact

UNIT = 10**6  # USDC minor units per token
DAILY_LIMIT = 10_000 * UNIT
CONFIRMATIONS = 3


def funded_account(w3) -> Any:
    acct = Account.create()
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": 10**20})
    )
    return acct


@dataclass
class LocalChain:
    w3: Any
    owner: Any
    operator: Any
    token: Any
    vault: Any

    @property
    def tester(self):
        return self.w3.provider.ethereum_tester

    def mine(self, n: int = 1) -> None:
        self.tester.mine_blocks(n)

    def wallet(self, tokens: int = 1_000) -> Any:
        acct = funded_account(self.w3)
        transact(self.w3, acct, self.token.functions.faucet(tokens * UNIT))
        return acct

    def deposit(self, wallet: Any, amount: int, actor_id: str | None = None) -> Any:
        """approve + deposit, as a wallet would send depositInfo's calls; the deposit's receipt."""
        transact(self.w3, wallet, self.token.functions.approve(self.vault.address, amount))
        actor = self.w3.to_checksum_address(actor_id or wallet.address)
        return transact(self.w3, wallet, self.vault.functions.deposit(self.token.address, amount, actor))

    def vault_balance(self) -> int:
        return self.token.functions.balanceOf(self.vault.address).call()

    def balance_of(self, address: str) -> int:
        return self.token.functions.balanceOf(self.w3.to_checksum_address(address)).call()


@pytest.fixture
def test_chain(settings) -> LocalChain:
    w3 = anchor_chain._tester()  # noqa: SLF001 - the process's in-process chain
    owner, operator = funded_account(w3), funded_account(w3)
    token, vault = deploy_market(w3, owner, operator=operator.address, daily_limit=DAILY_LIMIT)
    settings.WEB3_CHAIN_RPC_URL = "tester://"
    settings.WEB3_CHAIN_ID = w3.eth.chain_id
    settings.WEB3_VAULT_ADDRESS = vault.address
    settings.WEB3_TOKENS = {"USDC": token.address}
    settings.WEB3_CHAIN_CONFIRMATIONS = CONFIRMATIONS
    settings.WEB3_OPERATOR_PRIVATE_KEY = operator.key.hex()
    settings.WEB3_CHAIN_START_BLOCK = w3.eth.block_number
    return LocalChain(w3=w3, owner=owner, operator=operator, token=token, vault=vault)
