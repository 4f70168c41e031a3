"""A live market for the doors' tests: a real gunicorn with its own SQLite (tests/gunicorn_server.py),
the operator commands run against the same var/, and the MCP server started beside it on that store."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

from bench.gateway import PYTHON, ROOT, free_port
from tests.gunicorn_server import GunicornServer, server_env


class LiveMarket(GunicornServer):
    def __init__(self, **env: str) -> None:
        super().__init__()
        self.extra_env = env

    @property
    def env(self) -> dict[str, str]:
        return {**server_env(self.tmp / "var", self.port), **self.extra_env}

    def __enter__(self) -> LiveMarket:
        saved = {k: os.environ.get(k) for k in self.extra_env}
        os.environ.update(self.extra_env)  # GunicornServer builds its env from os.environ
        try:
            super().__enter__()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return self

    def manage(self, *args: str) -> str:
        """Run an operator command (credit, actor_role, ...) against this market's store."""
        return subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout

    def sign_in(self, account=None) -> tuple[str, str]:
        """(token, actorId) of a fresh (or the given) wallet, signed in over HTTP."""
        account = account or Account.create()
        with httpx.Client(base_url=self.base + "/api/v1/", timeout=30) as http:
            challenge = http.post("web3.siwe.challenge", json={"address": account.address}).json()["result"]
            sig = account.sign_message(encode_defunct(text=challenge["message"])).signature.hex()
            verified = http.post(
                "web3.siwe.verify",
                json={"message": challenge["message"], "signature": sig if sig.startswith("0x") else "0x" + sig},
            ).json()["result"]
        return verified["token"], verified["actorId"]

    def credit(self, actor_id: str, amount: str, currency: str = "USDC") -> None:
        """A deposit, by the market's operator through web3.admin.creditAccount (a manage.py command
        costs seconds of start-up; the operator is made staff once)."""
        if not hasattr(self, "_operator"):
            token, actor = self.sign_in()
            self.manage("actor_role", actor, "--add", "staff")
            self._operator = token
        answer = httpx.post(
            f"{self.base}/api/v1/web3.admin.creditAccount",
            json={"actorId": actor_id, "amount": amount, "currency": currency, "reason": "test deposit"},
            headers={"Authorization": f"Bearer {self._operator}"},
            timeout=30,
        ).json()
        assert answer["ok"], answer

    def funded(self, amount: str = "100") -> tuple[str, str]:
        token, actor = self.sign_in()
        self.credit(actor, amount)
        return token, actor


class McpHttp:
    """`manage.py mcp --http` on a free loopback port, on a live market's store."""

    def __init__(self, market: LiveMarket) -> None:
        self.market = market
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> McpHttp:
        self.log = open(self.market.tmp / "mcp.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            [PYTHON, "manage.py", "mcp", "--http", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.market.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mcp --http exited: " + Path(self.log.name).read_text()[-2000:])
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1)  # noqa: S310 - loopback
            except urllib.error.HTTPError:
                return self  # it answers (404 outside /mcp)
            except OSError:
                time.sleep(0.2)
                continue
            return self
        raise RuntimeError("mcp --http did not start in time")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
