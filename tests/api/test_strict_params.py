"""Params take JSON as it is: amounts are ASCII digits only (issue 11, item 4), and no param is
coerced from another JSON type (item 5), at any depth; the GET form of a read-only method still reads
its query string by the declared types."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from market.errors import InvalidArgument
from market.models import AlertRule, Resource, TaskOrder, Transfer
from market.money import parse_amount
from market.selectors.ledger import balances
from tests.task_support import fund

pytestmark = pytest.mark.django_db

NON_ASCII_AMOUNTS = ["١٢٣", "５.５", "۱۲", "１００", "12.５", "٠.٥", "𝟙"]


def fields(r) -> set[str]:
    assert (r.status, r.code) == (400, "E_INVALID_ARGUMENT"), r.body
    return set(r.body["error"]["details"]["fields"])


def publish_params(**extra) -> dict:
    return {"title": "t", "requirements": "r", "budget": "10", "currency": "USDC", "ttlSec": 3600, **extra}


def resource_params(**extra) -> dict:
    return {
        "kind": "search",
        "name": "s",
        "backend": "searxng",
        "endpoint": "http://127.0.0.1:9",
        "pricing": {"unit": "query", "unitPrice": "0.01", "currency": "USDC"},
        **extra,
    }


# --- item 4: ASCII digits only ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", NON_ASCII_AMOUNTS)
def test_a_deposit_in_other_digits_is_refused(staff, alice, amount):
    # when staff credit an amount written in Arabic-Indic or fullwidth digits
    r = staff.call(
        "web3.admin.creditAccount",
        {"actorId": alice.actor_id, "amount": amount, "currency": "USDC", "reason": "deposit"},
    )

    # then it is refused on `amount`, and nothing is credited
    assert fields(r) == {"amount"}
    assert Transfer.objects.count() == 0
    assert "USDC" not in balances(alice.actor_id) or balances(alice.actor_id)["USDC"]["available"] == 0


@pytest.mark.parametrize("amount", NON_ASCII_AMOUNTS)
def test_budgets_bids_and_prices_in_other_digits_are_refused(alice, amount):
    fund(alice.actor_id, "100")
    assert fields(alice.call("web3.market.publishTask", publish_params(budget=amount))) == {"budget"}
    r = alice.call(
        "web3.resources.publish", resource_params(pricing={"unit": "query", "unitPrice": amount, "currency": "USDC"})
    )
    assert fields(r) == {"pricing.unitPrice"}
    assert fields(alice.call("web3.resources.list", {"maxUnitPrice": amount, "currency": "USDC"})) == {"maxUnitPrice"}
    assert TaskOrder.objects.count() == 0 and Resource.objects.count() == 0


@pytest.mark.parametrize("amount", NON_ASCII_AMOUNTS)
def test_the_money_commands_refuse_other_digits(db, amount):
    actor = "0x" + "ab" * 20
    for command in ("credit", "debit"):
        with pytest.raises(CommandError, match="E_INVALID_ARGUMENT"):
            call_command(command, actor, amount, "USDC", stdout=io.StringIO())
    assert Transfer.objects.count() == 0


@pytest.mark.parametrize("amount", NON_ASCII_AMOUNTS)
def test_parse_amount_refuses_other_digits(db, amount):
    with pytest.raises(InvalidArgument):
        parse_amount(amount, "USDC", allow_zero=True)


def test_ascii_amounts_still_work(staff, alice):
    r = staff.call(
        "web3.admin.creditAccount",
        {"actorId": alice.actor_id, "amount": "0005.5", "currency": "USDC", "reason": "deposit"},
    )
    assert r.result["amount"] == "5.500000"
    with pytest.raises(CommandError):
        call_command("credit", alice.actor_id, "1000000000000", "USDC", stdout=io.StringIO())  # 10^18 minor units
    call_command("credit", alice.actor_id, "999999999999.999999", "USDC", stdout=io.StringIO())


# --- item 5: no coercion ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ttlSec": "60"}, "ttlSec"),
        ({"ttlSec": True}, "ttlSec"),
        ({"ttlSec": [60]}, "ttlSec"),
        ({"reviewWindowSec": "3600"}, "reviewWindowSec"),
        ({"requireSignatures": "true"}, "requireSignatures"),
        ({"requireSignatures": 1}, "requireSignatures"),
        ({"title": 5}, "title"),
        ({"currency": ["USDC"]}, "currency"),
    ],
)
def test_publish_task_refuses_coerced_types(alice, extra, field):
    # when a param comes as another JSON type than the one declared (a string "60" for an integer)
    r = alice.call("web3.market.publishTask", publish_params(**extra))

    # then it is refused on that param, and no task is created
    assert fields(r) == {field}
    assert TaskOrder.objects.count() == 0


def test_a_whole_json_number_is_an_integer(alice):
    # JSON Schema's integer is a number with no fraction: 3600.0 is one
    assert alice.call("web3.market.publishTask", publish_params(ttlSec=3600.0)).result["expiresAt"]


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("web3.market.getTask", {"taskId": 12345}, "taskId"),
        ("web3.leases.issue", {"resourceId": "res_x", "maxCost": "1", "ttlSec": "60"}, "ttlSec"),
        (
            "web3.dispute.resolve",
            {"disputeId": "d", "decision": "rule", "payeeShareBps": "5000", "rationale": "x"},
            "payeeShareBps",
        ),
        ("web3.audit.proof", {"eventId": "evt_x", "treeSize": "3"}, "treeSize"),
        ("web3.ledger.append", {"leaseId": "lease_x", "units": "3", "usageRef": "r"}, "units"),
        ("web3.siwe.challenge", {"address": "0x" + "ab" * 20, "chainId": "1"}, "chainId"),
        ("web3.monitor.upsertRule", {"name": "r", "enabled": "true"}, "enabled"),
        ("web3.monitor.upsertRule", {"name": "r", "windowSec": 300.5}, "windowSec"),
        ("web3.monitor.history", {"since": 1700000000}, "since"),
    ],
)
def test_other_methods_refuse_coerced_types(sign_in, method, params, field):
    api = sign_in(roles=("staff", "arbitrator"))
    assert fields(api.call(method, params)) == {field}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"pricing": {"unit": "query", "unitPrice": "0.01", "currency": "USDC", "discount": "0.5"}},
            "pricing.discount",
        ),
        ({"policy": {"maxConcurrent": "4"}}, "policy.maxConcurrent"),
        ({"policy": {"allowTools": "false"}}, "policy.allowTools"),
        ({"policy": {"maxConcurrent": 4, "retries": 3}}, "policy.retries"),
        ({"tags": [5]}, "tags.0"),
        ({"tags": "web"}, "tags"),
        ({"policy": {"allowMime": [True]}}, "policy.allowMime.0"),
    ],
)
def test_nested_objects_and_lists_keep_their_shape(alice, change, field):
    # when a nested object has an unknown name or a member of another type
    r = alice.call("web3.resources.publish", resource_params(**change))

    # then the member is named in the refusal, and nothing is published
    assert fields(r) == {field}
    assert Resource.objects.count() == 0


def test_artifacts_refuse_unknown_names_and_wrong_shapes(alice):
    ok = {"name": "out.txt", "sha256": "ab" * 32}
    base = {"taskId": "task_x", "summary": "done"}
    r = alice.call("web3.market.submitResult", {**base, "artifacts": [{**ok, "size": 3}]})
    assert fields(r) == {"artifacts.0.size"}
    assert fields(alice.call("web3.market.submitResult", {**base, "artifacts": ok})) == {"artifacts"}
    assert alice.call("web3.market.submitResult", {**base, "artifacts": [ok]}).code == "E_NOT_FOUND"


def test_threshold_takes_a_number_or_a_decimal_string(staff):
    # a threshold is documented as a JSON number (rounded to 6 decimals) or a decimal string
    base = {"severity": "P1", "metric": "disputes_open"}
    assert staff.call("web3.monitor.upsertRule", {"name": "a", **base, "threshold": 50}).result["threshold"] == 50
    assert staff.call("web3.monitor.upsertRule", {"name": "b", **base, "threshold": 0.1234567}).ok
    assert float(AlertRule.objects.get(name="b").threshold) == pytest.approx(0.123457)
    assert staff.call("web3.monitor.upsertRule", {"name": "c", **base, "threshold": "-2.5"}).ok
    for bad in ("١٢", "2.1234567", "1e3", True, [1]):
        assert fields(staff.call("web3.monitor.upsertRule", {"name": "d", **base, "threshold": bad})) == {"threshold"}


@pytest.mark.parametrize(
    "since", ["2030-01-01t00:00:00z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "2016-12-31T23:59:60Z"]
)
def test_every_rfc3339_time_is_read(alice, since):
    # RFC 3339 (JSON Schema's date-time) allows t and z, leap seconds, and offsets at the ends of time
    assert alice.call("web3.ledger.list", {"since": since}).ok


def test_a_time_in_other_digits_is_refused(alice):
    assert fields(alice.call("web3.ledger.list", {"since": "２０３０-01-01T00:00:00Z"})) == {"since"}


@pytest.mark.parametrize(
    "until", ["2024-01-01T12:99:00Z", "2024-01-01T24:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T00:00:61Z"]
)
def test_a_time_of_the_right_shape_but_no_such_instant_is_refused(alice, until):
    # a minute of 99 has the shape of a time (the parser's pattern), but is no time: it was a 500
    assert fields(alice.call("web3.ledger.list", {"until": until})) == {"until"}


# --- the GET form ------------------------------------------------------------------------------------------------


def test_get_reads_the_query_string_by_the_declared_types(alice):
    # given three open tasks
    fund(alice.actor_id, "100")
    for _ in range(3):
        assert alice.call("web3.market.publishTask", publish_params()).ok

    # when a read-only method is called with GET, whose query string has only strings
    page = alice.get("web3.market.listTasks", {"limit": "2"}).result

    # then ?limit=2 is the integer 2, as in POST, where the string "2" is refused
    assert len(page["items"]) == 2 and page["nextCursor"]
    assert fields(alice.call("web3.market.listTasks", {"limit": "2"})) == {"limit"}
    assert len(alice.call("web3.market.listTasks", {"limit": 2}).result["items"]) == 2


@pytest.mark.parametrize("limit", ["two", "٢", "1.5", ""])
def test_get_refuses_what_is_not_of_the_declared_type(alice, limit):
    assert fields(alice.get("web3.market.listTasks", {"limit": limit})) == {"limit"}


def test_get_reads_booleans(alice):
    for no in ("false", "False", "0", "off"):
        assert alice.get("web3.test.peek", {"name": "c", "sneak": no}).result == {"name": "c", "value": 0}
    assert fields(alice.get("web3.test.peek", {"name": "c", "sneak": "maybe"})) == {"sneak"}
