"""The local chain (`manage.py devchain`'s server): eth-tester over JSON-RPC that a web3 HTTP client
uses like any node (deploy, deposit, a revert as ContractLogicError), and whose state survives a
restart with the same blocks."""

from __future__ import annotations

import threading

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError

from market.onchain.deploy import deploy_market, transact
from market.onchain.devchain import DevChain, serve


def start(tmp_path):
    chain = DevChain(tmp_path / "state.json")
    server = serve(chain, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{server.server_address[1]}", request_kwargs={"timeout": 10}))
    return chain, server, w3


def test_a_web3_client_deploys_deposits_and_sees_reverts_and_a_restart_keeps_the_chain(tmp_path):
    # given the local chain served over HTTP
    chain, server, w3 = start(tmp_path)
    from eth_tester.backends.pyevm.main import get_default_account_keys

    owner, user = (Account.from_key(k.to_bytes()) for k in get_default_account_keys()[:2])
    try:
        # when a client deploys the market's contracts and deposits through them
        token, vault = deploy_market(w3, owner, operator=owner.address, daily_limit=10**9)
        transact(w3, user, token.functions.faucet(5 * 10**6))
        transact(w3, user, token.functions.approve(vault.address, 5 * 10**6))
        transact(w3, user, vault.functions.deposit(token.address, 5 * 10**6, user.address))
        # then the vault holds it, and a refused call is a ContractLogicError naming the reason
        assert token.functions.balanceOf(vault.address).call() == 5 * 10**6
        with pytest.raises(ContractLogicError, match="not the operator"):
            vault.functions.withdraw(token.address, user.address, 1, b"\x01" * 32).call({"from": user.address})
        head = w3.eth.get_block("latest")
    finally:
        server.shutdown()
        server.server_close()
    # when the chain is started again from its saved state
    _, server, w3 = start(tmp_path)
    try:
        # then it is the same chain: same head block and hash, same balances
        again = w3.eth.get_block("latest")
        assert (again["number"], again["hash"]) == (head["number"], head["hash"])
        token = w3.eth.contract(address=token.address, abi=token.abi)
        assert token.functions.balanceOf(vault.address).call() == 5 * 10**6
    finally:
        server.shutdown()
        server.server_close()
    assert chain.restored is False
