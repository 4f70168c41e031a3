"""The market scripts/schemathesis tests: started here on free loopback ports, seeded, and stopped.

A throw-away var/ (SQLite), or a scratch PostgreSQL database when DATABASE_URL points at PostgreSQL
(created here, dropped at the end); keys, migrations and the demo market (`manage.py demo`); the demo
provider on a free loopback port; gunicorn (openclaw/gunicorn.conf.py) on another. Through the API
it then adds what the demo lacks for the actors tested as (a lease and a resource of the creator's,
the demo resources pointed at the provider), and collects from the database and the registry the ids
of every object and each method's paramRules, for schemathesis's dictionaries and checks.

Rate limits and count caps are lifted on this market only, so calls reach the methods.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
COLLECT_IDS = """
import json
from market import models as m
from web3api.registry import all_methods
ids = {
    "tasks": list(m.TaskOrder.objects.values_list("task_id", flat=True)),
    "bids": list(m.TaskBid.objects.values_list("bid_id", flat=True)),
    "results": list(m.TaskResult.objects.values_list("result_id", flat=True)),
    "disputes": list(m.Dispute.objects.values_list("dispute_id", flat=True)),
    "leases": list(m.Lease.objects.values_list("lease_id", flat=True)),
    "resources": list(m.Resource.objects.values_list("resource_id", flat=True)),
    "settlements": list(m.Settlement.objects.values_list("settlement_id", flat=True)),
    "events": list(m.AuditEvent.objects.order_by("-seq").values_list("event_id", flat=True)[:200]),
    "alerts": list(m.Alert.objects.values_list("alert_id", flat=True)),
    "rules": list(m.AlertRule.objects.values_list("name", flat=True)),
    "methods": [x.name for x in all_methods()],
    "rate_limited": [x.name for x in all_methods() if x.rate_limit],
    "param_rules": {x.name: x.param_rules for x in all_methods()},
}
print(json.dumps(ids))
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(text: str) -> None:
    print(f"== schemathesis: {text}", flush=True)


class Market:
    """The market under test and everything it started."""

    def __init__(self, tmp: Path, database_url: str | None) -> None:
        self.tmp = tmp
        self.port, self.provider_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.procs: list[subprocess.Popen] = []
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
        }
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "openclaw.settings",
                "WEB3_VAR_DIR": str(tmp / "var"),
                "WEB3_BIND": f"127.0.0.1:{self.port}",
                "WEB_CONCURRENCY": "1",
                "WEB3_THREADS": "4",
                "WEB3_ALLOW_LOOPBACK_PORTS": str(self.provider_port),
                "LOG_LEVEL": "WARNING",
                "WEB3_DEFAULT_RATE_LIMIT": "1000000/m",
                "WEB3_MAX_OPEN_TASKS": "1000000",
                "WEB3_BIDS_PER_MINUTE": "1000000",
                "WEB3_DISPUTES_PER_DAY": "1000000",
            }
        )
        if database_url:
            self.env["DATABASE_URL"] = database_url

    def manage(self, *command: str, capture: bool = False) -> str:
        out = subprocess.run(  # noqa: S603 - our own commands
            [PYTHON, "manage.py", *command],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=600,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            text=True,
        )
        return out.stdout or ""

    def collect_ids(self) -> dict:
        return json.loads(self.manage("shell", "-v", "0", "-c", COLLECT_IDS, capture=True).strip().splitlines()[-1])

    def start(self, name: str, *command: str) -> None:
        logfile = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - the process keeps it
        proc = subprocess.Popen(  # noqa: S603 - our own commands
            command, cwd=ROOT, env=self.env, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)

    def up(self) -> None:
        self.manage("init_keys")
        self.manage("migrate", "--noinput")
        self.chain_up()
        self.manage("demo")
        operator = json.loads((self.tmp / "var" / "demo" / "wallets.json").read_text())["operator"]["address"]
        self.manage("actor_role", operator, "--add", "arbitrator")  # so the staff run reaches the rulings
        ids = self.collect_ids()
        # Declared per-method limits (SIWE's) are lifted too, through the per-method overrides.
        self.env["WEB3_RATE_LIMITS"] = ",".join(f"{name}=1000000/m" for name in ids["rate_limited"])
        self.start("provider", PYTHON, "manage.py", "demo_provider", "--port", str(self.provider_port))
        self.start("gunicorn", str(BIN / "gunicorn"), "-c", "openclaw/gunicorn.conf.py", "openclaw.wsgi:application")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise SystemExit("the market or the provider exited during start-up; see " + str(self.tmp))
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise SystemExit("the market did not answer /healthz in time")

    def chain_up(self) -> None:
        """The local chain (manage.py devchain), so that web3.funds.* answer as they do under scripts/run."""
        chain_port = free_port()
        self.start("devchain", PYTHON, "manage.py", "devchain", "--port", str(chain_port))
        ask = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise SystemExit("the local chain exited during start-up; see " + str(self.tmp))
            try:
                if httpx.post(f"http://127.0.0.1:{chain_port}", json=ask, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise SystemExit("the local chain did not answer in time")
        self.env["WEB3_DEVCHAIN_FILE"] = str(self.tmp / "var" / "chain" / "devchain.json")
        self.env["WEB3_FUNDS_SEND_ON_REQUEST"] = "0"  # no worker runs here: withdrawals stay pending

    def down(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def server_errors(self) -> tuple[list[str], list[str]]:
        """(the errors the market logged, its own warnings): a 503 or 504 is logged by django.request
        as an error whose cause (a provider that failed, a busy database) only a warning names."""
        lines = (self.tmp / "gunicorn.log").read_text(errors="replace").splitlines()
        errors = [line for line in lines if " ERROR " in line or "Traceback" in line]
        return errors, [line for line in lines if " WARNING " in line]  # gunicorn's own say [WARNING]


class Client:
    def __init__(self, base: str, key: str) -> None:
        self.wallet = Account.from_key(key)
        self.http = httpx.Client(base_url=base + "/api/v1/", timeout=30)
        challenge = self.call("web3.siwe.challenge", {"address": self.wallet.address})
        signature = self.wallet.sign_message(encode_defunct(text=challenge["message"])).signature.hex()
        verified = self.call(
            "web3.siwe.verify", {"message": challenge["message"], "signature": "0x" + signature.removeprefix("0x")}
        )
        self.http.headers["Authorization"] = f"Bearer {verified['token']}"

    def call(self, method: str, params: dict) -> dict:
        body = self.http.post(method, json=params).json()
        if not body.get("ok"):
            raise SystemExit(f"seeding the example data: {method} failed: {body}")
        return body["result"]


def seed(market: Market, wallets: dict) -> list[str]:
    """What the demo does not give the two tested actors, through the API; returns real cursors."""
    provider = Client(market.base, wallets["provider"]["key"])
    creator = Client(market.base, wallets["creator"]["key"])
    consumer = Client(market.base, wallets["consumer"]["key"])
    bidder = Client(market.base, wallets["bidder"]["key"])
    endpoint = f"http://localhost:{market.provider_port}"
    paths = {"openai-compat": "/v1", "searxng": "", "http-blob": "/blob", "custom": "/custom"}
    for resource in provider.call("web3.resources.list", {})["items"]:
        provider.call(
            "web3.resources.update",
            {"resourceId": resource["resourceId"], "endpoint": endpoint + paths[resource["backend"]]},
        )
    models = provider.call("web3.resources.list", {"kind": "model"})["items"]
    creator.call("web3.leases.issue", {"resourceId": models[0]["resourceId"], "maxCost": "50", "ttlSec": 86400})
    own = creator.call(
        "web3.resources.publish",
        {
            "kind": "search",
            "name": "Creator's echo",
            "backend": "custom",
            "endpoint": endpoint + "/custom",
            "pricing": {"unit": "call", "unitPrice": "0.01", "currency": "USDC"},
            "tags": ["echo"],
        },
    )
    consumer.call("web3.leases.issue", {"resourceId": own["resourceId"], "maxCost": "5", "ttlSec": 86400})
    task = creator.call(
        "web3.market.publishTask",
        {"title": "Fuzzing target", "requirements": "Anything.", "budget": "5", "currency": "USDC", "ttlSec": 86400},
    )
    bidder.call("web3.market.placeBid", {"taskId": task["taskId"], "price": "4", "etaSec": 3600})
    # Real cursors, as lists hand them out (their format is the market's own business).
    cursors = [
        creator.call(name, {"limit": 1})["nextCursor"]
        for name in ("web3.market.listTasks", "web3.audit.query", "web3.resources.list")
    ]
    return [c for c in cursors if c]


def scratch_database(url: str) -> tuple[str, str]:
    """(the scratch database's URL, its name) on the server DATABASE_URL points at."""
    import psycopg

    name = f"openclaw_schemathesis_{secrets.token_hex(4)}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
