"""Deploy TestToken and MarketVault (the local chain, the tests), each transaction signed locally."""

from __future__ import annotations

from typing import Any

from market import contracts


def send(w3: Any, account: Any, tx: dict[str, Any]) -> Any:
    """Sign `tx` with `account` (an eth_account LocalAccount), send it and wait for the receipt."""
    tx = {
        "from": account.address,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "chainId": w3.eth.chain_id,
        "gasPrice": w3.eth.gas_price,
        **tx,
    }
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas(tx) * 12 // 10 + 10_000
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)
    if receipt["status"] != 1:
        raise RuntimeError("the transaction reverted")
    return receipt


def transact(w3: Any, account: Any, fn: Any, value: int = 0) -> Any:
    """Call a contract function as a signed transaction of `account`."""
    tx = fn.build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending"), "value": value}
    )
    return send(w3, account, {k: v for k, v in tx.items() if k not in ("maxFeePerGas", "maxPriorityFeePerGas")})


def deploy(w3: Any, account: Any, name: str, *args: Any) -> Any:
    """Deploy contract `name` from its committed artifact; the contract object at its address."""
    art = contracts.artifact(name)
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(*args).build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
    )
    receipt = send(w3, account, {k: v for k, v in tx.items() if k not in ("maxFeePerGas", "maxPriorityFeePerGas")})
    return w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])


def deploy_market(w3: Any, owner: Any, *, operator: str, daily_limit: int, symbol: str = "USDC") -> tuple[Any, Any]:
    """A TestToken and a MarketVault owned by `owner`, with the token allowed at `daily_limit`."""
    token = deploy(w3, owner, "TestToken", f"Test {symbol}", symbol)
    vault = deploy(w3, owner, "MarketVault", w3.to_checksum_address(operator))
    transact(w3, owner, vault.functions.configureToken(token.address, True, daily_limit))
    return token, vault
