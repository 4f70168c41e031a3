"""The `market` CLI (the client's entry point) in --json mode against a live market and a real
loopback provider."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from eth_account import Account

from bench.gateway import ROOT

MARKET = str(Path(ROOT) / ".venv" / "bin" / "market")


class Cli:
    def __init__(self, live, tmp_path: Path, name: str) -> None:
        self.live = live
        self.config = tmp_path / f"{name}.json"
        self.key_file = tmp_path / f"{name}.key"
        self.account = Account.create()
        self.key_file.write_text(self.account.key.hex())

    def run(self, *args: str, ok: bool = True):
        done = subprocess.run(
            [MARKET, "--url", self.live.base, "--config", str(self.config), "--json", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (done.returncode == 0) is ok, (args, done.stdout, done.stderr)
        return json.loads(done.stdout)


def test_login_whoami_balance(live, tmp_path):
    # given a wallet key in a file
    cli = Cli(live, tmp_path, "alice")

    # when it logs in, is credited, and asks who it is and what it has
    me = cli.run("login", "--key-file", str(cli.key_file))
    live.credit(me["actorId"], "12.5")
    whoami = cli.run("whoami")
    balance = cli.run("balance")

    # then the saved token is its wallet's and the balance shows the credit
    assert me["actorId"] == cli.account.address.lower()
    assert whoami["actorId"] == me["actorId"]
    assert balance["balances"]["USDC"]["available"] == "12.500000"
    assert json.loads(cli.config.read_text())["token"]
    assert cli.config.stat().st_mode & 0o077 == 0


def test_resources_lease_invoke(live, provider, tmp_path):
    # given a provider that published a search resource and a funded consumer, both logged in
    seller, buyer = Cli(live, tmp_path, "seller"), Cli(live, tmp_path, "buyer")
    seller.run("login", "--key-file", str(seller.key_file))
    me = buyer.run("login", "--key-file", str(buyer.key_file))
    live.credit(me["actorId"], "5")
    resource = seller.run(
        "call",
        "web3.resources.publish",
        "kind=search",
        "name=cli search",
        "backend=searxng",
        f"endpoint={provider.base}",
        'pricing={"unit": "query", "unitPrice": "0.02", "currency": "USDC"}',
        'tags=["cli"]',
    )

    # when the consumer finds it, leases it and invokes it
    listed = buyer.run("resources", "list", "--tag", "cli")
    got = buyer.run("resources", "get", resource["resourceId"])
    lease = buyer.run("lease", resource["resourceId"], "--max-cost", "1.00", "--ttl", "600")
    invoked = buyer.run("invoke", lease["leaseId"], "--input", '{"q": "from the shell"}')

    # then each answers the API's result, and the call was charged
    assert [r["resourceId"] for r in listed["items"]] == [resource["resourceId"]]
    assert got["name"] == "cli search"
    assert lease["maxCost"] == "1.000000"
    assert invoked["output"]["query"] == "from the shell"
    assert invoked["usage"]["cost"] == "0.020000"


def test_tasks_publish_list_bid_and_call(live, tmp_path):
    # given a funded creator and a bidder, logged in
    creator, bidder = Cli(live, tmp_path, "creator"), Cli(live, tmp_path, "bidder")
    me = creator.run("login", "--key-file", str(creator.key_file))
    bidder.run("login", "--key-file", str(bidder.key_file))
    live.credit(me["actorId"], "10")

    # when the creator publishes a task, the bidder lists and bids, and anyone reads it with `call`
    task = creator.run("tasks", "publish", "--title", "CLI task", "--requirements", "r", "--budget", "4.00")
    listed = bidder.run("tasks", "list", "--status", "task_open", "--all")
    bid = bidder.run("tasks", "bid", task["taskId"], "--price", "3.50", "--eta", "600")
    got = creator.run("call", "web3.market.getTask", f"taskId={task['taskId']}")
    bids = creator.run("call", "web3.market.listBids", f"taskId={task['taskId']}", "limit=10")

    # then the CLI's answers are the API's results
    assert task["budget"] == "4.000000"
    assert task["taskId"] in [t["taskId"] for t in listed]
    assert bid["price"] == "3.500000"
    assert got["title"] == "CLI task"
    assert [b["bidId"] for b in bids["items"]] == [bid["bidId"]]


def test_an_error_is_json_with_its_code_and_exit_status_1(live, tmp_path):
    # given a logged-in actor
    cli = Cli(live, tmp_path, "carol")
    cli.run("login", "--key-file", str(cli.key_file))

    # when it asks for a task that does not exist, and passes a param the method does not take
    missing = cli.run("call", "web3.market.getTask", "taskId=task_nosuch", ok=False)
    unknown = cli.run("call", "web3.market.getTask", "taskId=t", "colour=red", ok=False)

    # then each is the error envelope's error
    assert missing["error"]["code"] == "E_NOT_FOUND"
    assert unknown["error"]["code"] == "E_INVALID_ARGUMENT"
    assert "colour" in unknown["error"]["details"]["fields"]


def test_human_output_is_a_table(live, tmp_path):
    # given a logged-in actor with a task
    cli = Cli(live, tmp_path, "dave")
    me = cli.run("login", "--key-file", str(cli.key_file))
    live.credit(me["actorId"], "3")
    cli.run("tasks", "publish", "--title", "Tabled", "--requirements", "r", "--budget", "1.00")

    # when it lists tasks without --json
    done = subprocess.run(
        [MARKET, "--url", live.base, "--config", str(cli.config), "tasks", "list", "--status", "task_open"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    # then it is a table with a header row
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["taskId", "title", "budget", "currency", "status", "expiresAt"]
    assert any("Tabled" in row for row in rows)


def test_session_open_status_end_and_balance(live, tmp_path):
    # given a funded owner, logged in
    cli = Cli(live, tmp_path, "owner")
    me = cli.run("login", "--key-file", str(cli.key_file))
    live.credit(me["actorId"], "8")

    # when it opens a prepaid session, looks at it and its balance, then ends it
    opened = cli.run("session", "open", "--budget", "3.00", "--ttl", "600", "--label", "shell")
    status = cli.run("session", "status", opened["sessionId"])
    balance = cli.run("balance")
    ended = cli.run("session", "end", opened["sessionId"])
    after = cli.run("balance")

    # then the budget was locked while it was open and refunded when it ended
    assert opened["status"] == "session_open"
    assert status["sessionId"] == opened["sessionId"]
    assert balance["balances"]["USDC"]["locked"] == "3.000000"
    assert [s["sessionId"] for s in balance["openSessions"]] == [opened["sessionId"]]
    assert ended["session"]["status"] != "session_open"
    assert after["balances"]["USDC"]["available"] == "8.000000"
    assert after["openSessions"] == []
