"""schemathesis over every operation of the market's own /api/schema/ (run by scripts/schemathesis).

The market it tests is started, seeded and stopped by scripts/schemathesis_market.py; it runs the
periodic jobs once (so audit events are sealed and have proofs), and schemathesis gets the ids of
every object as dictionaries, so calls get past E_NOT_FOUND about half of the time.

Two runs, each over every operation with every check: as the demo `creator` (a funded actor: party
to tasks, bids, results, a dispute, a lease and a resource) and as the demo `operator` (staff, and
arbitrator here so the rulings are reached). Both sign in with SIWE (scripts/schemathesis_hooks.py).
schemathesis's positive_data_acceptance is replaced by the hooks' positive_data_acceptance_or_param_rule:
the same check, except that a refusal of schema-valid data is accepted when it is E_INVALID_ARGUMENT
naming only params with a rule no schema can state (each method's paramRules, from the registry).

Prints schemathesis's own output, then one summary line per run (operations, test cases, failures
by check, server errors, and the refusals allowed for a param rule) and exits non-zero when any run
had a failure or an error.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from schemathesis_market import BIN, ROOT, Market, drop_database, log, scratch_database, seed

SCHEMATHESIS_VERSION = "4.32.5"
# Statuses a schema-valid call may get for reasons no schema can know (the caller's balance, the
# clock): besides schemathesis's defaults (2xx, 3xx, 401, 403, 404, 409, 429, 5xx).
STATE_STATUSES = ["402", "410"]
INVOKE = "web3.resources.invoke"
PROVIDER_STATUSES = ["503", "504"]  # of INVOKE: see config_file
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


REJECTION_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "431", "5xx"]


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
        # Off, and read by the hooks' positive_data_acceptance_or_param_rule, which replaces it.
        "[checks.positive_data_acceptance]",
        "enabled = false",
        f"expected-statuses = {json.dumps(accepted)}",
        "",
        # Schema-violating data is refused by the market, or, when an overlong value makes the request
        # line or a header too large, by the web server before it (414, 431: documented for every
        # operation, web3api/schema.py). Schemathesis's own list, plus those two.
        "[checks.negative_data_rejection]",
        f"expected-statuses = {json.dumps(REJECTION_STATUSES)}",
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
    # An invoke's 503 and 504 are its provider's unavailability (E_UNAVAILABLE, E_TIMEOUT; nothing is
    # charged), as documented: schemathesis publishes and leases resources whose endpoints resolve to
    # nothing here. Any other 5xx of it, and every 5xx elsewhere, is still a server error.
    lines += [
        "",
        "[[operations]]",
        f'include-operation-id = "{INVOKE}"',
        f"checks.not_a_server_error.expected-statuses = {json.dumps(['2xx', '3xx', '4xx', *PROVIDER_STATUSES])}",
    ]
    path = tmp / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_as(market: Market, actor: str, key: str, config: Path, cursors: list[str], rules: dict, args) -> dict:
    report_dir = market.tmp / f"report-{actor}"
    report_dir.mkdir()
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "SCHEMATHESIS_BASE": market.base,
        "SCHEMATHESIS_WALLET_KEY": key,
        "SCHEMATHESIS_CURSORS": json.dumps(cursors),
        "SCHEMATHESIS_PARAM_RULES": json.dumps(rules),
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
        "--exclude-checks",
        "positive_data_acceptance",
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
PARAM_RULE_CHECK = "positive_data_acceptance_or_param_rule"  # scripts/schemathesis_hooks.py


def summarise(actor: str, report_dir: Path, code: int, seconds: float) -> dict:
    """Counts from schemathesis's NDJSON events: operations, test cases, failing cases by check, by
    (operation, check) the distinct causes (the market's answer) with their counts, and the refusals
    of schema-valid data that passed as breaking a param rule, by method and param."""
    operations: set[str] = set()
    cases = 0
    failures: Counter = Counter()
    causes: dict[tuple[str, str], Counter] = {}
    rule_refusals: Counter = Counter()
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
                    elif check.get("name") == PARAM_RULE_CHECK:
                        rule_refusals.update(_rule_refusal(recorder, case_id))
    return {
        "actor": actor,
        "exit": code,
        "seconds": round(seconds),
        "operations": len(operations),
        "cases": cases,
        "failures": dict(failures),
        "causes": causes,
        "rule_refusals": rule_refusals,
        "errors": errors,
    }


def _error(interaction: dict) -> tuple[int | None, dict]:
    response = interaction.get("response") or {}
    raw = base64.b64decode((response.get("content") or {}).get("$base64", "") or b"")
    try:
        error = json.loads(raw)["error"]
    except (ValueError, KeyError, TypeError):
        error = None
    return response.get("status_code"), error if isinstance(error, dict) else {}


def _rule_refusal(recorder: dict, case_id: str) -> list[str]:
    """'<method> <param>' for each param named by a passing refusal of a schema-valid case."""
    case = (recorder.get("cases", {}).get(case_id) or {}).get("value") or {}
    if ((case.get("meta") or {}).get("generation") or {}).get("mode") != "positive":
        return []
    status, error = _error(recorder.get("interactions", {}).get(case_id) or {})
    if status != 400 or error.get("code") != "E_INVALID_ARGUMENT":
        return []
    method = str(case.get("path", "")).rsplit("/", 1)[-1]
    return [f"{method} {name}" for name in (error.get("details") or {}).get("fields") or {}]


def _cause(recorder: dict, case_id: str) -> str:
    """The market's answer to a failing case, in one line (names of unknown params left out)."""
    interaction = recorder.get("interactions", {}).get(case_id) or {}
    status, error = _error(interaction)
    if "code" in error and "message" in error:
        message = str(error["message"])
        text = f"{error['code']}: {'unknown params' if message.startswith('unknown params:') else message}"
    else:
        content = ((interaction.get("response") or {}).get("content") or {}).get("$base64", "") or ""
        text = base64.b64decode(content)[:100].decode(errors="replace").replace("\n", " ")
    return f"{status or '?'} {text}"[:160]


def _provider_answer(line: str) -> bool:
    return " ERROR django.request " in line and any(
        line.endswith(f"{text}: /api/v1/{INVOKE}") for text in ("Service Unavailable", "Gateway Timeout")
    )


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
            results.append(run_as(market, actor, wallets[actor]["key"], config, cursors, ids["param_rules"], args))
        server_errors, warnings = market.server_errors()
        # django.request logs every 5xx as an error: those of an unavailable provider are answers.
        provider = [line for line in server_errors if _provider_answer(line)]
        server_errors = [line for line in server_errors if line not in provider]
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
        refused = ", ".join(f"{rule} {n}" for rule, n in sorted(r["rule_refusals"].items())) or "none"
        log(f"as {r['actor']}: schema-valid calls refused for a param rule (allowed): {refused}")
    log(f"invoke answered 503/504 for an unavailable provider (allowed): {len(provider)}")
    log(f"server errors logged by the market: {len(server_errors)}")
    for line in server_errors[:20]:
        print("   " + line)
    if server_errors and warnings:
        log(f"the market's warnings ({len(warnings)}), which may say why:")
        for line in warnings[:20]:
            print("   " + line[:240])
    failed = [r for r in results if r["exit"] != 0 or r["failures"] or r["errors"]]
    return 1 if failed or server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
