"""The money methods through the HTTP gateway (API.md "Methods": ledger, settlement, billing, admin),
the credit and debit operator commands, and the ledger part of web3.status.summary.

Settlements are made with market.services.escrow.escrow_lock: no method creates them yet."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command

from market.models import AuditEvent, Transfer
from market.selectors.ledger import balances
from market.services import escrow, ledger

USDC = 10**6
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTLEMENT_FIELDS = {
    "settlementId",
    "status",
    "currency",
    "payerActorId",
    "payeeActorId",
    "locked",
    "released",
    "refunded",
    "remaining",
    "reference",
    "createdAt",
}


def ledger_state() -> tuple:
    return (
        Transfer.objects.count(),
        AuditEvent.objects.count(),
        sorted(
            (a, b["USDC"]["available"], b["USDC"]["locked"])
            for a, b in (
                (actor, balances(actor))
                for actor in Transfer.objects.values_list("credit_account__actor_id", flat=True)
            )
        ),
    )


@pytest.fixture
def bob(sign_in):
    return sign_in()


@pytest.fixture
def carol(sign_in):
    return sign_in()


@pytest.fixture
def trade(alice, bob):
    """alice: +100 deposit, locks 30 for bob, 10 of it released, sends bob 5; bob sends alice 2.
    Each step a minute after the last, so since/until can cut between them."""
    steps = [
        lambda: ledger.deposit(actor_id=alice.actor_id, amount=100 * USDC, currency="USDC"),
        lambda: escrow.escrow_lock(
            payer_actor_id=alice.actor_id,
            payee_actor_id=bob.actor_id,
            amount=30 * USDC,
            currency="USDC",
            by_actor_id=alice.actor_id,
            reference="test:trade",
        ),
        lambda: escrow.escrow_release(
            settlement_id=out["settlement"].settlement_id, amount=10 * USDC, by_actor_id="system"
        ),
        lambda: ledger.transfer(
            from_actor_id=alice.actor_id,
            to_actor_id=bob.actor_id,
            amount=5 * USDC,
            currency="USDC",
            by_actor_id=alice.actor_id,
        ),
        lambda: ledger.transfer(
            from_actor_id=bob.actor_id,
            to_actor_id=alice.actor_id,
            amount=2 * USDC,
            currency="USDC",
            by_actor_id=bob.actor_id,
        ),
    ]
    out: dict = {"times": []}
    for i, step in enumerate(steps):
        at = T0 + timedelta(minutes=i)
        with time_machine.travel(at, tick=False):
            result = step()
        out["times"].append(at)
        if i == 1:
            out["settlement"] = result
    return out


# --- web3.ledger.list ----------------------------------------------------------------------------------


@pytest.mark.keypath
def test_ledger_list_is_the_callers_entries_newest_first(alice, trade):
    # when alice lists her ledger
    items = alice.call("web3.ledger.list").result["items"]

    # then it is her five entries, newest first, each in API.md's shape
    assert [(i["code"], i["amount"], i["direction"], i["pending"]) for i in items] == [
        ("transfer", "2.000000", "in", False),
        ("transfer", "5.000000", "out", False),
        ("escrow_release", "10.000000", "out", False),
        ("escrow_lock", "30.000000", "out", True),
        ("deposit", "100.000000", "in", False),
    ]
    release = items[2]
    assert release["settlementId"] == trade["settlement"].settlement_id
    assert release["currency"] == "USDC"
    assert release["createdAt"] == "2026-03-01T12:02:00Z"
    assert {"entryId", "leaseId", "source", "units", "usageRef"} <= set(release)


def test_ledger_list_costs_the_same_queries_for_many_entries(alice, trade):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from market.services.ledger import deposit

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice.call("web3.ledger.list").ok
        return len(ctx.captured_queries)

    # given a page of five entries, then of fifteen
    few = queries()
    for i in range(10):
        deposit(actor_id=alice.actor_id, amount=1_000_000, currency="USDC", idempotency_key=f"more:{i}")

    # then listing them costs the same number of queries (no query per entry)
    assert len(alice.call("web3.ledger.list").result["items"]) == 15
    assert queries() == few


def _lock_in_each_state(payer: str, payee: str) -> None:
    """Five escrow locks of 10 from payer to payee, each left in another state (named by its reference)."""

    def lock(ref):
        return escrow.escrow_lock(
            payer_actor_id=payer,
            payee_actor_id=payee,
            amount=10 * USDC,
            currency="USDC",
            by_actor_id=payer,
            reference=ref,
        ).settlement_id

    lock("test:untouched")
    open_part = lock("test:open-part")
    escrow.escrow_release(settlement_id=open_part, amount=4 * USDC, by_actor_id="system")
    posted = lock("test:posted")
    escrow.escrow_release(settlement_id=posted, by_actor_id="system")
    part = lock("test:part")
    escrow.escrow_release(settlement_id=part, amount=4 * USDC, by_actor_id="system")
    escrow.escrow_refund(settlement_id=part, by_actor_id="system")
    voided = lock("test:voided")
    escrow.escrow_refund(settlement_id=voided, by_actor_id="system")


def test_each_lock_entry_shows_how_its_lock_ended(alice, bob):
    # given five locks from alice to bob: untouched, partly released and open, released, partly
    # released then refunded, refunded
    ledger.deposit(actor_id=alice.actor_id, amount=100 * USDC, currency="USDC")
    _lock_in_each_state(alice.actor_id, bob.actor_id)
    references = dict(Transfer.objects.filter(code="escrow_lock").values_list("transfer_id", "reference"))

    for api in (alice, bob):
        # when either party lists its ledger
        items = api.call("web3.ledger.list").result["items"]
        # then each lock shows how it ended, and only a lock still holding money is pending
        locks = {references[i["entryId"]]: (i["lockState"], i["pending"]) for i in items if i["code"] == "escrow_lock"}
        assert locks == {
            "test:untouched": ("pending", True),
            "test:open-part": ("partially_posted", True),
            "test:posted": ("posted", False),
            "test:part": ("partially_posted", False),
            "test:voided": ("voided", False),
        }
        # and the releases and refunds that resolved them are not locks
        assert {i["lockState"] for i in items if i["code"] != "escrow_lock"} == {None}
        assert not any(i["pending"] for i in items if i["code"] != "escrow_lock")


def test_ledger_list_reads_every_lock_state_without_a_query_per_entry(alice, bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice.call("web3.ledger.list").ok
        return len(ctx.captured_queries)

    # given one open lock
    ledger.deposit(actor_id=alice.actor_id, amount=100 * USDC, currency="USDC")
    escrow.escrow_lock(
        payer_actor_id=alice.actor_id,
        payee_actor_id=bob.actor_id,
        amount=USDC,
        currency="USDC",
        by_actor_id=alice.actor_id,
    )
    few = queries()
    # when locks in every end state (and their releases and refunds) are added
    _lock_in_each_state(alice.actor_id, bob.actor_id)
    # then the page costs the same queries
    assert queries() == few


def test_ledger_list_pages_with_a_cursor(alice, trade):
    # when alice pages through with limit 2
    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        result = alice.call("web3.ledger.list", params).result
        pages.append([i["entryId"] for i in result["items"]])
        cursor = result["nextCursor"]
        if cursor is None:
            break

    # then the pages are 2, 2, 1 and together the whole list, in order, without repeats
    everything = [i["entryId"] for i in alice.call("web3.ledger.list").result["items"]]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [e for p in pages for e in p] == everything

    # and the GET form pages the same way
    first = alice.get("web3.ledger.list", {"limit": 2}).result
    assert [i["entryId"] for i in first["items"]] == pages[0]
    second = alice.get("web3.ledger.list", {"limit": 2, "cursor": first["nextCursor"]}).result
    assert [i["entryId"] for i in second["items"]] == pages[1]


def test_ledger_list_refuses_a_forged_cursor_and_a_bad_limit(alice, trade):
    assert alice.call("web3.ledger.list", {"cursor": "not-a-cursor"}).code == "E_INVALID_ARGUMENT"
    assert alice.call("web3.ledger.list", {"limit": 0}).code == "E_INVALID_ARGUMENT"
    assert alice.call("web3.ledger.list", {"limit": 201}).code == "E_INVALID_ARGUMENT"


def test_ledger_list_filters_by_since_and_until(alice, trade):
    t = trade["times"]
    # since is inclusive, until exclusive
    since = alice.call("web3.ledger.list", {"since": t[2].isoformat()}).result["items"]
    assert [i["code"] for i in since] == ["transfer", "transfer", "escrow_release"]
    until = alice.call("web3.ledger.list", {"until": t[2].isoformat()}).result["items"]
    assert [i["code"] for i in until] == ["escrow_lock", "deposit"]
    window = alice.call("web3.ledger.list", {"since": t[1].isoformat(), "until": t[3].isoformat()}).result["items"]
    assert [i["code"] for i in window] == ["escrow_release", "escrow_lock"]
    # a bad date is E_INVALID_ARGUMENT naming the field
    r = alice.call("web3.ledger.list", {"since": "yesterday"})
    assert r.code == "E_INVALID_ARGUMENT"
    assert set(r.body["error"]["details"]["fields"]) == {"since"}


def test_ledger_list_filters_by_currency(alice, trade):
    assert len(alice.call("web3.ledger.list", {"currency": "USDC"}).result["items"]) == 5
    r = alice.call("web3.ledger.list", {"currency": "EUR"})
    assert r.code == "E_INVALID_ARGUMENT"
    assert set(r.body["error"]["details"]["fields"]) == {"currency"}


def test_ledger_selector_filters_by_currency_among_several(db, settings):
    """The API's currency param accepts only configured codes; with two configured, the filter
    separates them (checked at the selector, which the method calls)."""
    from market.selectors.ledger import ledger_entries

    settings.WEB3_CURRENCIES = "USDC:6,ETH:18"
    actor = "0x" + "a1" * 20
    ledger.deposit(actor_id=actor, amount=5, currency="USDC")
    ledger.deposit(actor_id=actor, amount=7, currency="ETH")
    assert [t.amount for t in ledger_entries(actor_id=actor, filters={"currency": "ETH"})] == [7]
    assert [t.amount for t in ledger_entries(actor_id=actor, filters={"currency": "USDC"})] == [5]
    assert [t.amount for t in ledger_entries(actor_id=actor, filters={})] == [7, 5]


def test_an_actor_sees_only_its_own_entries(alice, bob, carol, trade):
    # bob sees the lock (pending, in), the release, and the two transfers: none of alice's deposit
    bob_items = bob.call("web3.ledger.list").result["items"]
    assert [(i["code"], i["direction"]) for i in bob_items] == [
        ("transfer", "out"),
        ("transfer", "in"),
        ("escrow_release", "in"),
        ("escrow_lock", "in"),
    ]
    # carol, a party to nothing, sees nothing
    assert carol.call("web3.ledger.list").result == {"items": [], "nextCursor": None}
    # and alice's entries are not reachable through bob's cursor either
    alice_ids = {i["entryId"] for i in alice.call("web3.ledger.list").result["items"]}
    page = bob.call("web3.ledger.list", {"limit": 1}).result
    rest = bob.call("web3.ledger.list", {"cursor": page["nextCursor"]}).result["items"]
    assert {i["entryId"] for i in rest} <= alice_ids & {i["entryId"] for i in bob_items}


def test_ledger_list_needs_a_token(anon):
    assert anon.call("web3.ledger.list").code == "E_AUTH_REQUIRED"


# --- web3.ledger.summary ---------------------------------------------------------------------------------


@pytest.mark.keypath
def test_ledger_summary_exact_strings(alice, bob, carol, trade):
    assert alice.call("web3.ledger.summary").result == {
        "USDC": {
            "income": "2.000000",
            "expense": "15.000000",
            "net": "-13.000000",
            "available": "67.000000",
            "locked": "20.000000",
        }
    }
    assert bob.call("web3.ledger.summary").result == {
        "USDC": {
            "income": "15.000000",
            "expense": "2.000000",
            "net": "13.000000",
            "available": "13.000000",
            "locked": "0.000000",
        }
    }
    assert carol.get("web3.ledger.summary").result == {
        "USDC": {
            "income": "0.000000",
            "expense": "0.000000",
            "net": "0.000000",
            "available": "0.000000",
            "locked": "0.000000",
        }
    }


def test_a_lock_is_not_an_expense_until_released_and_a_refund_is_neither(alice, bob, trade):
    escrow.escrow_refund(settlement_id=trade["settlement"].settlement_id, by_actor_id="system")
    assert alice.call("web3.ledger.summary").result["USDC"] == {
        "income": "2.000000",
        "expense": "15.000000",
        "net": "-13.000000",
        "available": "87.000000",
        "locked": "0.000000",
    }


# --- web3.settlement.status ------------------------------------------------------------------------------


@pytest.mark.keypath
def test_settlement_status_for_its_parties_and_staff(alice, bob, staff, trade):
    sid = trade["settlement"].settlement_id
    expected = {
        "settlementId": sid,
        "status": "settlement_partially_released",
        "currency": "USDC",
        "payerActorId": alice.actor_id,
        "payeeActorId": bob.actor_id,
        "locked": "30.000000",
        "released": "10.000000",
        "refunded": "0.000000",
        "remaining": "20.000000",
        "reference": "test:trade",
        "createdAt": "2026-03-01T12:01:00Z",
    }
    for who in (alice, bob, staff):
        assert who.call("web3.settlement.status", {"settlementId": sid}).result == expected
    assert alice.get("web3.settlement.status", {"settlementId": sid}).result == expected


def test_settlement_status_is_not_found_for_anyone_else(carol, trade):
    sid = trade["settlement"].settlement_id
    hidden = carol.call("web3.settlement.status", {"settlementId": sid})
    missing = carol.call("web3.settlement.status", {"settlementId": "stl_doesnotexist"})
    # exactly E_NOT_FOUND, indistinguishable from a settlement that does not exist
    assert (hidden.status, hidden.code) == (404, "E_NOT_FOUND")
    assert hidden.body == missing.body
    assert sid not in str(hidden.body)


def test_settlement_status_follows_the_states(alice, bob, trade):
    sid = trade["settlement"].settlement_id
    escrow.escrow_release(settlement_id=sid, by_actor_id="system")
    r = bob.call("web3.settlement.status", {"settlementId": sid}).result
    assert (r["status"], r["released"], r["remaining"]) == ("settlement_released", "30.000000", "0.000000")
    s = escrow.escrow_lock(
        payer_actor_id=alice.actor_id,
        payee_actor_id=bob.actor_id,
        amount=1,
        currency="USDC",
        by_actor_id=alice.actor_id,
    )
    assert (
        alice.call("web3.settlement.status", {"settlementId": s.settlement_id}).result["status"] == "settlement_locked"
    )
    escrow.escrow_refund(settlement_id=s.settlement_id, by_actor_id="system")
    r = alice.call("web3.settlement.status", {"settlementId": s.settlement_id}).result
    assert (r["status"], r["refunded"], r["remaining"]) == ("settlement_refunded", "0.000001", "0.000000")


# --- web3.billing.* -------------------------------------------------------------------------------------


@pytest.mark.keypath
def _money(result):
    return {k: v for k, v in result.items() if k not in ("openSession", "brain", "parts")}


def test_billing_status_shape(alice, bob, carol, trade):
    assert _money(alice.call("web3.billing.status").result) == {
        "USDC": {"available": "67.000000", "locked": "20.000000"},
        "openSettlements": 1,
    }
    assert _money(bob.get("web3.billing.status").result) == {
        "USDC": {"available": "13.000000", "locked": "0.000000"},
        "openSettlements": 1,
    }
    carol_status = carol.call("web3.billing.status").result
    assert _money(carol_status) == {
        "USDC": {"available": "0.000000", "locked": "0.000000"},
        "openSettlements": 0,
    }
    assert carol_status["openSession"] is None and carol_status["brain"] is None
    assert {name: p["status"] for name, p in carol_status["parts"].items()} == {
        "ledger": "ok",
        "sessions": "ok",
        "brain": "ok",
        "invoke": "ok",
    }


def test_billing_summary_shape(alice, bob, trade):
    result = alice.call("web3.billing.summary").result
    assert set(result) == {"USDC", "openSettlements", "recentSettlements"}
    assert result["USDC"] == {
        "income": "2.000000",
        "expense": "15.000000",
        "net": "-13.000000",
        "available": "67.000000",
        "locked": "20.000000",
    }
    assert result["openSettlements"] == 1
    [recent] = result["recentSettlements"]
    assert set(recent) == SETTLEMENT_FIELDS
    assert (recent["settlementId"], recent["status"]) == (
        trade["settlement"].settlement_id,
        "settlement_partially_released",
    )
    # the payee sees the same settlement among its own recent ones
    assert [s["settlementId"] for s in bob.call("web3.billing.summary").result["recentSettlements"]] == [
        trade["settlement"].settlement_id
    ]


# --- web3.admin.creditAccount / debitAccount ---------------------------------------------------------------


def move(api, method, actor_id, amount, reason="test", currency="USDC", **kw):
    return api.call(method, {"actorId": actor_id, "amount": amount, "currency": currency, "reason": reason}, **kw)


@pytest.mark.keypath
def test_staff_credits_and_debits_an_account(staff, alice):
    # when staff credits 12.5 USDC and debits 2.25
    credit = move(staff, "web3.admin.creditAccount", alice.actor_id, "12.5", reason="bank wire 42").result
    debit = move(staff, "web3.admin.debitAccount", alice.actor_id, "2.25").result

    # then the answers carry the exact amounts and the balance afterwards
    assert {k: credit[k] for k in ("actorId", "amount", "currency", "code", "available")} == {
        "actorId": alice.actor_id,
        "amount": "12.500000",
        "currency": "USDC",
        "code": "deposit",
        "available": "12.500000",
    }
    assert (debit["code"], debit["amount"], debit["available"]) == ("withdrawal", "2.250000", "10.250000")
    assert alice.call("web3.billing.status").result["USDC"] == {"available": "10.250000", "locked": "0.000000"}

    # and the audit log records who did it and why
    event = AuditEvent.objects.get(object_type="transfer", object_id=credit["transferId"])
    assert (event.actor_id, event.action) == (staff.actor_id, "ledger.deposit")
    assert '"reason":"bank wire 42"' in event.payload


@pytest.mark.parametrize("method", ["web3.admin.creditAccount", "web3.admin.debitAccount"])
def test_admin_money_methods_are_staff_only(alice, bob, method):
    before = ledger_state()
    r = move(alice, method, bob.actor_id, "1")
    assert (r.status, r.code) == (403, "E_FORBIDDEN")
    assert ledger_state() == before


@pytest.mark.parametrize(
    ("amount", "field_message"),
    [
        (12.5, "JSON numbers are refused"),  # a JSON number
        (12, "JSON numbers are refused"),
        ("1.1234567", None),  # more decimals than USDC's scale of 6
        ("0", "positive"),
        ("-1", None),
        ("1e3", None),
        (" 1", None),
        ("1\n", None),
        ("", None),
    ],
)
@pytest.mark.parametrize("method", ["web3.admin.creditAccount", "web3.admin.debitAccount"])
def test_admin_money_methods_refuse_bad_amounts(staff, alice, method, amount, field_message):
    ledger.deposit(actor_id=alice.actor_id, amount=100 * USDC, currency="USDC")
    before = ledger_state()
    r = move(staff, method, alice.actor_id, amount)
    assert (r.status, r.code) == (400, "E_INVALID_ARGUMENT")
    assert set(r.body["error"]["details"]["fields"]) == {"amount"}
    if field_message:
        assert field_message in str(r.body["error"]["details"]["fields"]["amount"])
    assert ledger_state() == before


def test_admin_money_methods_refuse_unknown_currency_and_bad_actor(staff, alice):
    r = move(staff, "web3.admin.creditAccount", alice.actor_id, "1", currency="EUR")
    assert r.code == "E_INVALID_ARGUMENT" and set(r.body["error"]["details"]["fields"]) == {"currency"}
    r = move(staff, "web3.admin.creditAccount", alice.actor_id.upper().replace("0X", "0x"), "1")
    assert r.code == "E_INVALID_ARGUMENT" and set(r.body["error"]["details"]["fields"]) == {"actorId"}
    r = staff.call("web3.admin.creditAccount", {"actorId": alice.actor_id, "amount": "1", "currency": "USDC"})
    assert r.code == "E_INVALID_ARGUMENT" and set(r.body["error"]["details"]["fields"]) == {"reason"}


@pytest.mark.keypath
def test_withdrawal_beyond_available_is_insufficient_funds_and_changes_nothing(staff, alice, bob):
    # given 10 USDC of which 4 are locked
    ledger.deposit(actor_id=alice.actor_id, amount=10 * USDC, currency="USDC")
    escrow.escrow_lock(
        payer_actor_id=alice.actor_id,
        payee_actor_id=bob.actor_id,
        amount=4 * USDC,
        currency="USDC",
        by_actor_id=alice.actor_id,
    )
    before = ledger_state()

    # when staff debits 6.000001 (one minor unit more than available)
    r = move(staff, "web3.admin.debitAccount", alice.actor_id, "6.000001")

    # then E_INSUFFICIENT_FUNDS (402) and nothing changed
    assert (r.status, r.code) == (402, "E_INSUFFICIENT_FUNDS")
    assert r.body["error"]["details"] == {"available": "6.000000", "requested": "6.000001"}
    assert ledger_state() == before

    # and exactly the available amount goes through
    assert move(staff, "web3.admin.debitAccount", alice.actor_id, "6").result["available"] == "0.000000"


def test_credit_with_an_idempotency_key_credits_once(staff, alice):
    first = move(staff, "web3.admin.creditAccount", alice.actor_id, "5", idempotency_key="wire-1")
    again = move(staff, "web3.admin.creditAccount", alice.actor_id, "5", idempotency_key="wire-1")
    assert first.body == again.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert balances(alice.actor_id)["USDC"]["available"] == 5 * USDC
    other = move(staff, "web3.admin.creditAccount", alice.actor_id, "6", idempotency_key="wire-1")
    assert other.code == "E_CONFLICT"


def test_admin_money_methods_refuse_get(staff, alice):
    r = staff.get(
        "web3.admin.creditAccount", {"actorId": alice.actor_id, "amount": "1", "currency": "USDC", "reason": "x"}
    )
    assert (r.status, r.code) == (405, "E_INVALID_ARGUMENT")


# --- manage.py credit | debit ------------------------------------------------------------------------------


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.keypath
def test_credit_and_debit_commands(db):
    actor = "0x" + "c3" * 20
    out = run("credit", actor.upper().replace("0X", "0x"), "100.5", "usdc")
    transfer = Transfer.objects.get(code="deposit")
    assert out == f"credited 100.500000 USDC for {actor} ({transfer.transfer_id})"
    out = run("debit", actor, "0.5", "USDC", "--reason", "payout")
    assert out.startswith(f"debited 0.500000 USDC for {actor} (tr_")
    assert balances(actor)["USDC"]["available"] == 100 * USDC
    event = AuditEvent.objects.get(action="ledger.withdraw")
    assert event.actor_id == "system" and '"reason":"payout"' in event.payload


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("debit", "0x" + "c3" * 20, "100.000001", "USDC"), "E_INSUFFICIENT_FUNDS"),
        (("credit", "0x" + "c3" * 20, "1.1234567", "USDC"), "E_INVALID_ARGUMENT"),
        (("credit", "0x" + "c3" * 20, "1", "EUR"), "E_INVALID_ARGUMENT"),
        (("credit", "0x" + "c3" * 20, "0", "USDC"), "E_INVALID_ARGUMENT"),
        (("credit", "bob", "1", "USDC"), "actorId must be"),
    ],
)
def test_credit_and_debit_commands_refuse(db, args, message):
    ledger.deposit(actor_id="0x" + "c3" * 20, amount=100 * USDC, currency="USDC")
    before = ledger_state()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert ledger_state() == before


# --- web3.status.summary -------------------------------------------------------------------------------------


def test_status_summary_has_a_ledger_part(alice, trade):
    part = alice.call("web3.status.summary").result["parts"]["ledger"]
    assert part == {"status": "ok", "message": "balanced; 1 open settlements"}
