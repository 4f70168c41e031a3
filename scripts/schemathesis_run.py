"""schemathesis over every operation of the market's own /api/schema/ (run by scripts/schemathesis).

Starts a market of its own: a throw-away var/ (SQLite), or a scratch PostgreSQL database when
DATABASE_URL points at PostgreSQL (created here, dropped at the end); keys, migrations and the demo
market (`manage.py demo`); the demo provider on a free loopback port; gunicorn
(openclaw/gunicorn.conf.py) on another. Then, through the API, it adds what the demo lacks for the
actors it tests as (a lease and a resource of the creator's, the demo resources pointed at the
provider), runs the periodic jobs once (so audit events are sealed and have proofs), and gives
schemathesis the ids of every object as dictionaries, so calls get past E_NOT_FOUND about half of
the time.

Two runs, each over every operation with every check: as the demo `creator` (a funded actor: party
to tasks, bids, results, a dispute, a lease and a resource) and as the demo `operator` (staff, and
arbitrator here so the rulings are reached). Both sign in with SIWE (scripts/schemathesis_hooks.py).
Rate limits and count caps are lifted on this market only, so calls reach the methods.

Prints schemathesis's own output, then one summary line per run (operations, test cases, failures
by check, server errors) and exits non-zero when any run had a failure or an error.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SCHEMATHESIS_VERSION = "4.32.5"
# Statuses a schema-valid call may get for reasons no schema can know (the caller's balance, the
# clock): besides schemathesis's defaults (2xx, 3xx, 401, 403, 404, 409, 429, 5xx).
STATE_STATUSES = ["402", "410"]
# params that name an object, and the kind of id each takes
ID_PARAMS = {
    "taskId": "tasks",
    "bidId": "bids",
    "resultId": "results",
    "disputeId": "disputes",
    "leaseId": "leases",
    "resourceId": "resources",
    "settlementId": "settlements",
    "eventId": "events",
    "alertId": "alerts",
    "objectId": "objects",
    "actorId": "actors",
    "creatorActorId": "actors",
    "providerActorId": "actors",
    "rule": "rules",
    "name": "names",
}
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

    def server_errors(self) -> list[str]:
        text = (self.tmp / "gunicorn.log").read_text(errors="replace")
        return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]


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
    paths = {"openai-compat": "/v1", "searxng": "", "custom": "/custom"}
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


def config_file(tmp: Path, ids: dict, wallets: dict, cursors: list[str], max_examples: int) -> Path:
    # Cursors are opaque (a client only ever sends back one a list returned): real ones, always.
    ids = {
        **ids,
        "actors": [w["address"] for w in wallets.values()],
        "names": ids["methods"] + ids["rules"],
        "cursors": cursors,
    }
    ids["objects"] = [i for kind in ("tasks", "leases", "resources", "settlements", "disputes") for i in ids[kind]]
    accepted = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", *STATE_STATUSES]
    lines = [
        f"generation.max-examples = {max_examples}",
        "",
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {json.dumps(accepted)}",
        "",
    ]
    used = sorted({kind for kind in [*ID_PARAMS.values(), "cursors"] if ids.get(kind)})
    for kind in used:
        lines += [f"[dictionaries.{kind}]", f"values = {json.dumps(ids[kind])}", ""]
    lines.append("[parameters]")
    for param, kind in [*ID_PARAMS.items(), ("cursor", "cursors")]:
        if kind in used:
            probability = 1.0 if kind == "cursors" else 0.5
            for location in ("body", "query"):
                lines.append(f'"{location}.{param}" = {{ dictionary = "{kind}", probability = {probability} }}')
    path = tmp / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_as(market: Market, actor: str, key: str, config: Path, cursors: list[str], args) -> dict:
    report_dir = market.tmp / f"report-{actor}"
    report_dir.mkdir()
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "SCHEMATHESIS_BASE": market.base,
        "SCHEMATHESIS_WALLET_KEY": key,
        "SCHEMATHESIS_CURSORS": json.dumps(cursors),
        "PYTHONPATH": str(ROOT / "scripts"),
    }
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{market.base}/api/schema/?format=json",
        "--checks",
        "all",
        "--seed",
        str(args.seed),
        "--report",
        "ndjson",
        "--report-dir",
        str(report_dir),
        "--no-color",
        "--request-timeout",
        "60",
    ]
    log(f"run as {actor}: {' '.join(command[1:])}")
    started = time.monotonic()
    # Its own output, each line cut to a readable length (the whole of it stays in the report folder).
    with open(report_dir / "output.txt", "w") as full:
        proc = subprocess.Popen(  # noqa: S603 - our own command
            command,
            cwd=market.tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        for line in proc.stdout:
            full.write(line)
            print(line.rstrip("\n")[:240], flush=True)
        code = proc.wait()
    return summarise(actor, report_dir, code, time.monotonic() - started)


STATEFUL = "Stateful tests"


def summarise(actor: str, report_dir: Path, code: int, seconds: float) -> dict:
    """Counts from schemathesis's NDJSON events: operations, test cases, failing cases by check, and
    by (operation, check) the distinct causes (the market's answer) with their counts."""
    operations: set[str] = set()
    cases = 0
    failures: Counter = Counter()
    causes: dict[tuple[str, str], Counter] = {}
    errors = 0
    for path in report_dir.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            kind, data = next(iter(event.items()))
            if kind == "NonFatalError":
                errors += 1
            if kind != "ScenarioFinished":
                continue
            recorder = data.get("recorder", {})
            label = recorder.get("label")
            if not label:
                continue
            if label != STATEFUL:
                operations.add(label)
            cases += len(recorder.get("cases", {}))
            for case_id, checks in recorder.get("checks", {}).items():
                for check in checks:
                    if check.get("status") == "failure":
                        failures[check["name"]] += 1
                        causes.setdefault((label, check["name"]), Counter())[_cause(recorder, case_id)] += 1
    return {
        "actor": actor,
        "exit": code,
        "seconds": round(seconds),
        "operations": len(operations),
        "cases": cases,
        "failures": dict(failures),
        "causes": causes,
        "errors": errors,
    }


def _cause(recorder: dict, case_id: str) -> str:
    """The market's answer to a failing case, in one line (names of unknown params left out)."""
    interaction = recorder.get("interactions", {}).get(case_id) or {}
    response = interaction.get("response") or {}
    raw = base64.b64decode((response.get("content") or {}).get("$base64", "") or b"")
    try:
        error = json.loads(raw)["error"]
        message = error["message"]
        if message.startswith("unknown params:"):
            message = "unknown params"
        text = f"{error['code']}: {message}"
    except (ValueError, KeyError, TypeError):
        text = raw[:100].decode(errors="replace").replace("\n", " ")
    return f"{response.get('status_code', '?')} {text}"[:160]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--max-examples",
        type=int,
        default=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", 25)),
        help="test cases per operation and phase (default 25)",
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SCHEMATHESIS_SEED", 1)))
    parser.add_argument(
        "--actor", choices=["creator", "operator"], action="append", help="run only as this actor (default: both)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, reports)")
    args = parser.parse_args()
    import schemathesis

    if schemathesis.__version__ != SCHEMATHESIS_VERSION:
        raise SystemExit(f"schemathesis {SCHEMATHESIS_VERSION} is pinned; {schemathesis.__version__} is installed")

    tmp = Path(tempfile.mkdtemp(prefix="openclaw-schemathesis-"))
    url = os.environ.get("DATABASE_URL", "")
    scratch = scratch_database(url) if url.startswith(("postgres://", "postgresql://")) else None
    market = Market(tmp, scratch[0] if scratch else None)
    results = []
    try:
        log(f"market on {market.base} ({'PostgreSQL ' + scratch[1] if scratch else 'SQLite'}), folder {tmp}")
        market.up()
        wallets = json.loads((tmp / "var" / "demo" / "wallets.json").read_text())
        cursors = seed(market, wallets)
        market.manage("run_sweeps")  # seals the audit events, so proofs of them exist
        ids = market.collect_ids()
        config = config_file(tmp, ids, wallets, cursors, args.max_examples)
        for actor in args.actor or ["creator", "operator"]:
            results.append(run_as(market, actor, wallets[actor]["key"], config, cursors, args))
        server_errors = market.server_errors()
    finally:
        market.down()
        if scratch:
            drop_database(url, scratch[1])
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for r in results:
        failures = ", ".join(f"{check} {n}" for check, n in sorted(r["failures"].items())) or "none"
        log(
            f"as {r['actor']}: {r['operations']} operations, {r['cases']} test cases, failures: {failures}; "
            f"errors {r['errors']}; {r['seconds']} s"
        )
        for (label, check), found in sorted(r["causes"].items()):
            for cause, n in found.most_common():
                print(f"   {n:4d}  {label}  {check}  <- {cause}")
    log(f"server errors logged by the market: {len(server_errors)}")
    for line in server_errors[:20]:
        print("   " + line)
    failed = [r for r in results if r["exit"] != 0 or r["failures"] or r["errors"]]
    return 1 if failed or server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
