"""Funds on chain under concurrency (PostgreSQL; SQLite serialises writers): parallel withdrawals
never hold more than is available, and two deposit jobs at once credit each deposit once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from market.audit.verify import problems
from market.errors import InsufficientFunds
from market.models import Deposit, Withdrawal
from market.selectors.ledger import balances
from market.services.funds import withdrawal_request
from market.services.funds_deposits import deposit_scan
from tests.funds_support import CONFIRMATIONS, UNIT

pytestmark = [pytest.mark.postgres, pytest.mark.concurrency]


def run_threads(n: int, fn) -> list[tuple[str, object]]:
    barrier = threading.Barrier(n)
    out: list[tuple[str, object]] = [("error", None)] * n

    def worker(i: int) -> None:
        try:
            barrier.wait()
            out[i] = ("ok", fn(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            out[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.fixture
def funded(transactional_db, settings, test_chain):
    """An actor credited 100 USDC by a real deposit."""
    settings.WEB3_FUNDS_SEND_ON_REQUEST = False
    wallet = test_chain.wallet()
    test_chain.deposit(wallet, 100 * UNIT)
    test_chain.mine(CONFIRMATIONS)
    deposit_scan()
    return wallet.address.lower()


def test_parallel_withdrawals_never_overdraw(funded):
    # when 24 withdrawals of 10 USDC race for a balance of 100
    results = run_threads(24, lambda i: withdrawal_request(actor_id=funded, amount=10 * UNIT, currency="USDC"))
    # then exactly 10 are held, the rest refused for funds, nothing else failed
    ok = [r for kind, r in results if kind == "ok"]
    refused = [r for kind, r in results if kind == "error" and isinstance(r, InsufficientFunds)]
    assert (len(ok), len(refused)) == (10, 14)
    b = balances(funded)["USDC"]
    assert (b["available"], b["locked"]) == (0, 100 * UNIT)
    assert Withdrawal.objects.count() == 10
    assert list(problems()) == []


def test_two_deposit_jobs_at_once_credit_once(transactional_db, settings, test_chain):
    # given three confirmed deposits nobody has credited
    wallet = test_chain.wallet()
    for amount in (1, 2, 3):
        test_chain.deposit(wallet, amount * UNIT)
    test_chain.mine(CONFIRMATIONS)
    # when two deposit jobs run at once, twice
    results = run_threads(2, lambda i: deposit_scan()) + run_threads(2, lambda i: deposit_scan())
    # then every deposit is credited once, and no run failed
    assert [kind for kind, _ in results] == ["ok"] * 4
    assert Deposit.objects.count() == 3
    assert balances(wallet.address.lower())["USDC"]["available"] == 6 * UNIT
    assert sum(r["credited"] for _, r in results) == 3
