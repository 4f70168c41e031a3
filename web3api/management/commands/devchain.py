"""manage.py devchain: a local JSON-RPC chain on loopback for scripts/run (and any script).

Deploys TestToken and MarketVault on first start, funds eth-tester's accounts and the demo wallets
with test ETH and test tokens, writes var/chain/devchain.json (rpcUrl, chainId, token, vault,
operator, operatorPrivateKey, accounts), then serves until SIGTERM or Ctrl-C. The chain's state is
kept under var/chain/, so a restart continues it; --fresh starts a new one. Private keys go to that
file only (mode 0600), never to this command's output."""

from __future__ import annotations

import json
import os
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from eth_account import Account

from market.onchain.deploy import deploy_market, send, transact
from market.onchain.devchain import DevChain, serve
from web3api.demo.actors import demo_wallets

UNIT = 10**6
DAILY_LIMIT = 1_000_000 * UNIT
TOKENS_EACH = 10_000 * UNIT
ETH_EACH = 100 * 10**18
ACCOUNTS = 8


def _write_private(path, data: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)


class Command(BaseCommand):
    help = "Serve a local test chain (eth-tester over JSON-RPC on loopback) with the vault and a test token."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("WEB3_DEVCHAIN_PORT", "8545")))
        parser.add_argument("--fresh", action="store_true", help="Forget the saved chain and start a new one.")
        parser.add_argument("--setup-only", action="store_true", help="Deploy and write the files, do not serve.")

    def handle(self, *args, port, fresh, setup_only, **options):
        from eth_tester.backends.pyevm.main import get_default_account_keys

        folder = settings.VAR_DIR / "chain"
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        state, info_path = folder / "state.json", folder / "devchain.json"
        if fresh:
            for path in (state, info_path):
                path.unlink(missing_ok=True)
        chain = DevChain(state)
        keys = [Account.from_key(k.to_bytes()) for k in get_default_account_keys()]
        owner, operator, accounts = keys[0], keys[1], keys[2 : 2 + ACCOUNTS]
        if chain.restored and info_path.is_file():
            info = json.loads(info_path.read_text())
            token = chain.w3.eth.contract(address=chain.w3.to_checksum_address(info["token"]), abi=_token_abi())
            self.stdout.write(f"devchain: continuing the saved chain at block {chain.w3.eth.block_number}")
        else:
            start_block = chain.w3.eth.block_number
            token, vault = deploy_market(chain.w3, owner, operator=operator.address, daily_limit=DAILY_LIMIT)
            info = {
                "rpcUrl": f"http://127.0.0.1:{port}",
                "chainId": chain.w3.eth.chain_id,
                "currency": "USDC",
                "token": token.address.lower(),
                "vault": vault.address.lower(),
                "startBlock": start_block,
                "owner": owner.address.lower(),
                "ownerPrivateKey": owner.key.hex(),
                "operator": operator.address.lower(),
                "operatorPrivateKey": operator.key.hex(),
                "accounts": [{"address": a.address.lower(), "privateKey": a.key.hex()} for a in accounts],
            }
            for acct in accounts:
                transact(chain.w3, acct, token.functions.faucet(TOKENS_EACH))
            self.stdout.write("devchain: deployed TestToken and MarketVault on a new chain")
        info["rpcUrl"] = f"http://127.0.0.1:{port}"
        funded = self._fund_demo_wallets(chain, owner, token)
        chain.save()
        _write_private(info_path, info)
        self.stdout.write(
            f"devchain: chain id {info['chainId']}, vault {info['vault']}, token {info['token']} (USDC, 6 decimals); "
            f"{len(info['accounts'])} test accounts and {funded} demo wallet(s) hold test ETH and 10000 USDC; "
            "their test keys are in var/chain/devchain.json"
        )
        if setup_only:
            return
        server = serve(chain, "127.0.0.1", port)

        def stop(*_):
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"devchain: JSON-RPC on 127.0.0.1:{port}")
        self.stdout.flush()
        try:
            server.serve_forever()
        finally:
            with chain.lock:
                chain.save()
            server.server_close()
            self.stdout.write("devchain: stopped; the chain is saved under var/chain")

    @staticmethod
    def _fund_demo_wallets(chain: DevChain, owner, token) -> int:
        """Test ETH and tokens for each demo wallet that has none yet."""
        w3, funded = chain.w3, 0
        for wallet in demo_wallets().values():
            address = w3.to_checksum_address(wallet.address)
            if w3.eth.get_balance(address) == 0:
                send(w3, owner, {"to": address, "value": ETH_EACH, "gas": 21_000})
            if token.functions.balanceOf(address).call() == 0:
                transact(w3, Account.from_key(wallet.key), token.functions.faucet(TOKENS_EACH))
            funded += 1
        return funded


def _token_abi():
    from market import contracts

    return contracts.abi("TestToken")
