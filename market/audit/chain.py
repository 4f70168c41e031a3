"""The EVM chain that anchors checkpoint roots, through web3.py.

Configured by WEB3_ANCHOR_RPC_URL and WEB3_ANCHOR_PRIVATE_KEY; with either unset there is no
chain. `tester://` selects web3's in-process EthereumTesterProvider: one chain per process (it
lives in memory), whose funded account 0 pays for the anchor key. The URL and the key never leave
this module: errors are reported by their class name only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from eth_account import Account

TESTER_URL = "tester://"
RPC_TIMEOUT_SEC = 10
_tester_lock = threading.Lock()
_tester_w3: Any = None


@dataclass
class Chain:
    w3: Any
    account: Any  # eth_account LocalAccount of WEB3_ANCHOR_PRIVATE_KEY

    @property
    def sender(self) -> str:
        return self.account.address.lower()

    @property
    def is_tester(self) -> bool:
        return settings.WEB3_ANCHOR_RPC_URL == TESTER_URL


def configured() -> bool:
    return bool(settings.WEB3_ANCHOR_RPC_URL and settings.WEB3_ANCHOR_PRIVATE_KEY)


def _tester() -> Any:
    """The process's in-process chain, created once."""
    global _tester_w3
    with _tester_lock:
        if _tester_w3 is None:
            from web3 import EthereumTesterProvider, Web3

            try:
                _tester_w3 = Web3(EthereumTesterProvider())
            except ImportError as exc:  # eth-tester[py-evm] comes with requirements-dev.txt
                raise RuntimeError("tester:// needs eth-tester[py-evm] (requirements-dev.txt)") from exc
        return _tester_w3


def _fund_on_tester(w3: Any, address: str) -> None:
    with _tester_lock:
        if w3.eth.get_balance(address) == 0:
            tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": 10**21})
            w3.eth.wait_for_transaction_receipt(tx)


def chain() -> Chain | None:
    """The configured chain, or None. Creating it does no network I/O for an HTTP provider."""
    if not configured():
        return None
    account = Account.from_key(settings.WEB3_ANCHOR_PRIVATE_KEY)
    url = settings.WEB3_ANCHOR_RPC_URL
    if url == TESTER_URL:
        w3 = _tester()
        _fund_on_tester(w3, account.address)
        return Chain(w3=w3, account=account)
    from web3 import Web3

    if url.startswith(("ws://", "wss://")):
        raise ValueError("WEB3_ANCHOR_RPC_URL must be an http(s) URL or tester://")
    return Chain(w3=Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT_SEC})), account=account)


def error_text(exc: BaseException) -> str:
    """What may be stored and shown about an RPC failure: never its message, which can carry the
    URL (with credentials) or a local path."""
    return f"chain call failed ({type(exc).__name__})"
