"""Crafted 4 KB sign-in messages cannot stall the market: through the real server (gunicorn with
the production config, serving this test's database), 20 clients keep sending 4 KB messages to
web3.siwe.verify while another client checks /healthz and signs in. Every flood call is refused
with E_AUTH_REQUIRED, and the health check and the sign-in are answered while the flood goes on.

No timing threshold: the flood stops when the other client is done, so the assertions are about
outcomes — what each call answered, and that the flood was still running throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.db import connection
from eth_account import Account

from bench.gateway import GUNICORN, ROOT, free_port, wait_ready
from tests.conftest import sign

FLOODERS = 20
MESSAGE_CHARS = 4096
# A bound on each flooding client, far above what the other client's few calls take: reaching it
# would mean the flood ended before they did.
MAX_CALLS_PER_FLOODER = 2000


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"
    )


@pytest.fixture
def market_server(transactional_db, tmp_path):
    """gunicorn (openclaw/gunicorn.conf.py: 2 workers x 4 threads) on a free loopback port,
    serving the test database, with its own var/. Yields the base URL; stopped by its pid."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "WEB3_TEST_DB_NAME")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "WEB3_VAR_DIR": str(tmp_path / "var"),
            "WEB3_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "WEB3_THREADS": "4",
            # All clients share one address: lift verify's per-address limit so that every flood call
            # reaches the method (many addresses would, in the wild).
            "WEB3_RATE_LIMITS": "web3.siwe.verify=1000000/m",
        }
    )
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [GUNICORN, "-c", "openclaw/gunicorn.conf.py", "openclaw.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, timeout=120)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        server_log = Path(log_path).read_text(errors="replace")
        assert "Traceback" not in server_log, server_log[-4000:]


def challenge_for(http: httpx.Client, account) -> str:
    r = http.post("web3.siwe.challenge", json={"address": account.address})
    assert r.status_code == 200, r.text
    return r.json()["result"]["message"]


def crafted_4kb(message: str, account) -> str:
    """An issued message grown to 4 KB the costliest way for an EIP-4361 parser (a domain of
    thousands of characters) and with its address lowercased, signed-ready."""
    host = message.split(" wants you", 1)[0]
    lowered = message.replace(account.address, account.address.lower())
    padded = lowered.replace(f"{host} wants", "a" * (MESSAGE_CHARS - len(lowered) + len(host)) + " wants", 1)
    assert len(padded) == MESSAGE_CHARS
    return padded


@pytest.mark.concurrency
def test_4kb_messages_from_20_clients_are_refused_while_the_market_answers(market_server):
    # given 20 wallets, each with a challenge turned into a crafted 4 KB message it signed
    api = market_server + "/api/v1/"
    floods = []
    with httpx.Client(base_url=api, timeout=120) as http:
        for _ in range(FLOODERS):
            account = Account.create()
            text = crafted_4kb(challenge_for(http, account), account)
            floods.append({"message": text, "signature": sign(account, text)})

    started = threading.Barrier(FLOODERS + 1)
    done = threading.Event()
    answers: list[list[tuple[int, str | None]]] = [[] for _ in range(FLOODERS)]

    def flood(i: int) -> None:
        with httpx.Client(base_url=api, timeout=120) as http:
            started.wait()
            while not done.is_set() and len(answers[i]) < MAX_CALLS_PER_FLOODER:
                r = http.post("web3.siwe.verify", json=floods[i])
                code = (
                    r.json().get("error", {}).get("code")
                    if r.headers.get("content-type", "").startswith("application/json")
                    else None
                )
                answers[i].append((r.status_code, code))

    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(FLOODERS)]
    for t in threads:
        t.start()

    # when, with the flood under way, another client checks health and signs in
    started.wait()
    try:
        with httpx.Client(base_url=market_server, timeout=120) as http:
            health = http.get("/healthz")
            wallet = Account.create()
            message = http.post("/api/v1/web3.siwe.challenge", json={"address": wallet.address}).json()
            message = message["result"]["message"]
            session = http.post(
                "/api/v1/web3.siwe.verify", json={"message": message, "signature": sign(wallet, message)}
            )
            token = session.json().get("result", {}).get("token", "")
            whoami = http.post("/api/v1/web3.identity.whoami", headers={"Authorization": f"Bearer {token}"})
            health_after = http.get("/healthz")
    finally:
        done.set()
        for t in threads:
            t.join(300)

    # then /healthz answered and the normal sign-in worked, during the flood
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert session.status_code == 200, session.text
    assert whoami.status_code == 200 and whoami.json()["result"]["actorId"] == wallet.address.lower()
    assert health_after.status_code == 200
    # and the flood was still going when that client finished: no flooder ran out of calls
    assert not any(t.is_alive() for t in threads)
    assert all(0 < len(a) < MAX_CALLS_PER_FLOODER for a in answers), [len(a) for a in answers]
    # and every flood call was refused with E_AUTH_REQUIRED (no 400, no 500, no lock error)
    outcomes = {answer for flooder in answers for answer in flooder}
    assert outcomes == {(401, "E_AUTH_REQUIRED")}, outcomes
