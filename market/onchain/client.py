"""The funds chain: the settings that name it, and the web3 connection with the vault, the tokens
and the operator account.

Nothing here is shown to a client except `missing_settings()`'s setting names: the RPC URL and the
operator key stay in this module, and a failed call is reported by its error class only
(market.audit.chain.error_text). `tester://` is web3's in-process chain, shared with anchoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from eth_account import Account

from market import contracts
from market.audit import chain as anchor_chain
from market.errors import Unavailable
from market.money import currencies

RPC_TIMEOUT_SEC = 10


def missing_settings() -> list[str]:
    """The settings still to set before web3.funds.* can work (names only)."""
    missing = [
        name
        for name in ("WEB3_CHAIN_RPC_URL", "WEB3_CHAIN_ID", "WEB3_VAULT_ADDRESS", "WEB3_TOKENS")
        if not getattr(settings, name)
    ]
    if not settings.WEB3_OPERATOR_PRIVATE_KEY:
        missing.append("WEB3_OPERATOR_PRIVATE_KEY (or var/keys/operator_key)")
    return missing


def configured() -> bool:
    return not missing_settings()


def unavailable() -> Unavailable:
    missing = missing_settings()
    return Unavailable(
        "funds on chain are not configured: set " + ", ".join(missing),
        details={"missing": missing},
    )


def _checked_address(value: str, name: str) -> str:
    from web3 import Web3

    if not Web3.is_address(value):
        raise Unavailable(f"{name} is not an address", details={"setting": name})
    return value.lower()


def tokens() -> dict[str, str]:
    """currency -> lowercase token address, for the configured currencies only."""
    known = currencies()
    return {
        code: _checked_address(address.strip(), "WEB3_TOKENS")
        for code, address in settings.WEB3_TOKENS.items()
        if code in known
    }


def vault_address() -> str:
    return _checked_address(settings.WEB3_VAULT_ADDRESS, "WEB3_VAULT_ADDRESS")


def token_for(currency: str) -> str:
    token = tokens().get(currency)
    if token is None:
        raise Unavailable(
            f"no token is configured for {currency} (WEB3_TOKENS)",
            details={"currency": currency, "setting": "WEB3_TOKENS"},
        )
    return token


def currency_of_token(token: str) -> str | None:
    return {address: code for code, address in tokens().items()}.get(token.lower())


def confirmations() -> int:
    return max(settings.WEB3_CHAIN_CONFIRMATIONS, 1)


def _contract(w3: Any, name: str, address: str) -> Any:
    return w3.eth.contract(address=w3.to_checksum_address(address), abi=contracts.abi(name))


def offline_vault() -> Any:
    """The vault's contract object for encoding calls (no connection is made)."""
    from web3 import Web3

    return _contract(Web3(), "MarketVault", vault_address())


def offline_token(currency: str) -> Any:
    from web3 import Web3

    return _contract(Web3(), "TestToken", token_for(currency))


@dataclass
class FundsChain:
    w3: Any
    account: Any  # the operator's eth_account LocalAccount

    @property
    def sender(self) -> str:
        return self.account.address.lower()

    @property
    def chain_id(self) -> int:
        return settings.WEB3_CHAIN_ID

    @cached_property
    def vault(self) -> Any:
        return _contract(self.w3, "MarketVault", vault_address())

    def token(self, currency: str) -> Any:
        return _contract(self.w3, "TestToken", token_for(currency))

    def check_chain_id(self) -> None:
        """Refuse to act on a chain other than the configured one (network call)."""
        if self.w3.eth.chain_id != settings.WEB3_CHAIN_ID:
            raise Unavailable("the chain's id is not WEB3_CHAIN_ID", details={"setting": "WEB3_CHAIN_ID"})


def funds_chain() -> FundsChain:
    """The configured chain (no network I/O for an HTTP provider), else E_UNAVAILABLE naming what to set."""
    if not configured():
        raise unavailable()
    account = Account.from_key(settings.WEB3_OPERATOR_PRIVATE_KEY)
    url = settings.WEB3_CHAIN_RPC_URL
    if url == anchor_chain.TESTER_URL:
        w3 = anchor_chain._tester()  # noqa: SLF001 - the one in-process chain of this process
        anchor_chain._fund_on_tester(w3, account.address)  # noqa: SLF001
        return FundsChain(w3=w3, account=account)
    from web3 import Web3

    if not url.startswith(("http://", "https://")):
        raise Unavailable("WEB3_CHAIN_RPC_URL must be an http(s) URL", details={"setting": "WEB3_CHAIN_RPC_URL"})
    return FundsChain(w3=Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT_SEC})), account=account)
