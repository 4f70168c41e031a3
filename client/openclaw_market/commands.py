"""The CLI's commands, each a few calls of the generated methods; `call` reaches any method."""

from __future__ import annotations

import json
from typing import Any

from openclaw_market.client import Market


def _value(text: str) -> Any:
    """`key=value`: the value as JSON when it reads as JSON (numbers, true, objects), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def pairs(items: list[str], properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """key=value pairs as params; a param whose schema says string takes the text as written
    (`budget=5.00` is the string "5.00", as money must be)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"expected key=value, got {item!r}")
        kind = ((properties or {}).get(name) or {}).get("type")
        out[name] = value if kind == "string" or (isinstance(kind, list) and kind[0] == "string") else _value(value)
    return out


def _login(m: Market, a) -> tuple[Any, str | None]:
    m.sign_in()
    return m.identity.whoami(), None


def _balance(m: Market, a):
    out: dict[str, Any] = {"balances": m.billing.status()}
    if "web3.sessions.list" in m.catalogue():
        out["openSessions"] = list(m.method("web3.sessions.list").iter(status="session_open"))
    return out, None


def _resources_list(m: Market, a):
    params = {"kind": a.kind, "tag": a.tag, "limit": a.limit, "cursor": a.cursor}
    if a.all:
        return list(m.resources.list.iter(kind=a.kind, tag=a.tag)), "resources"
    return m.resources.list(**params), "resources"


def _tasks_list(m: Market, a):
    if a.all:
        return list(m.market.listTasks.iter(status=a.status)), "tasks"
    return m.market.listTasks(status=a.status, limit=a.limit, cursor=a.cursor), "tasks"


def _invoke(m: Market, a):
    data = json.loads(open(a.input_file).read() if a.input_file else a.input)  # noqa: SIM115, PTH123
    return m.resources.invoke(leaseId=a.lease_id, input=data), None


def _session_call(verb: str):
    def run(m: Market, a):
        if verb == "open":
            params = {"budget": a.budget, "currency": a.currency, "ttlSec": a.ttl, "mode": a.mode, "label": a.label}
            return m.call("web3.sessions.open", {k: v for k, v in params.items() if v is not None}), None
        if verb == "status":
            return m.call("web3.sessions.get", {"sessionId": a.session_id}), None
        return m.call("web3.billing.settleSession", {"sessionId": a.session_id}), None

    return run


def _listing(p) -> None:
    p.add_argument("--limit", type=int)
    p.add_argument("--cursor")
    p.add_argument("--all", action="store_true", help="every page")


def add_all(sub) -> None:
    p = sub.add_parser("login", help="sign in with a wallet key (hex in a file) and keep the token")
    p.add_argument("--key-file", required=True)
    p.set_defaults(run=_login)

    sub.add_parser("whoami", help="who the saved token is").set_defaults(run=lambda m, a: (m.identity.whoami(), None))
    sub.add_parser("balance", help="available and locked, by currency; open sessions").set_defaults(run=_balance)

    res = sub.add_parser("resources", help="resources on offer").add_subparsers(dest="verb", required=True)
    p = res.add_parser("list")
    p.add_argument("--kind", choices=["model", "search", "storage"])
    p.add_argument("--tag")
    _listing(p)
    p.set_defaults(run=_resources_list)
    p = res.add_parser("get")
    p.add_argument("resource_id")
    p.set_defaults(run=lambda m, a: (m.resources.get(resourceId=a.resource_id), None))

    p = sub.add_parser("lease", help="lease a resource, locking --max-cost")
    p.add_argument("resource_id")
    p.add_argument("--max-cost", required=True)
    p.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    p.set_defaults(run=lambda m, a: (m.leases.issue(resourceId=a.resource_id, maxCost=a.max_cost, ttlSec=a.ttl), None))

    p = sub.add_parser("invoke", help="call a leased resource")
    p.add_argument("lease_id")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--input", help="the input as JSON")
    group.add_argument("--input-file", help="a file holding the input JSON")
    p.set_defaults(run=_invoke)

    tasks = sub.add_parser("tasks", help="the task market").add_subparsers(dest="verb", required=True)
    p = tasks.add_parser("list")
    p.add_argument("--status")
    _listing(p)
    p.set_defaults(run=_tasks_list)
    p = tasks.add_parser("publish")
    p.add_argument("--title", required=True)
    p.add_argument("--requirements", required=True)
    p.add_argument("--budget", required=True)
    p.add_argument("--currency", default="USDC")
    p.add_argument("--ttl", type=int, default=86400)
    p.set_defaults(
        run=lambda m, a: (
            m.market.publishTask(
                title=a.title, requirements=a.requirements, budget=a.budget, currency=a.currency, ttlSec=a.ttl
            ),
            None,
        )
    )
    p = tasks.add_parser("bid")
    p.add_argument("task_id")
    p.add_argument("--price", required=True)
    p.add_argument("--eta", type=int, required=True, help="seconds to deliver")
    p.add_argument("--note")
    p.set_defaults(
        run=lambda m, a: (m.market.placeBid(taskId=a.task_id, price=a.price, etaSec=a.eta, note=a.note), None)
    )

    sessions = sub.add_parser("session", help="agent sessions").add_subparsers(dest="verb", required=True)
    p = sessions.add_parser("open")
    p.add_argument("--budget", required=True)
    p.add_argument("--currency", default="USDC")
    p.add_argument("--ttl", type=int, default=3600)
    p.add_argument("--mode", choices=["prepaid", "trusted"], default="prepaid")
    p.add_argument("--label")
    p.set_defaults(run=_session_call("open"))
    for verb in ("status", "end"):
        p = sessions.add_parser(verb)
        p.add_argument("session_id")
        p.set_defaults(run=_session_call(verb))

    p = sub.add_parser("call", help="any method: market call web3.x.y key=value ... (values read as JSON)")
    p.add_argument("method")
    p.add_argument("params", nargs="*", metavar="key=value")
    p.set_defaults(run=lambda m, a: (m.call(a.method, pairs(a.params, m.method(a.method).properties)), None))
