"""The staff pages and the arbitrators' workspace, over the demo market: each renders for its
audience and refuses everyone else with the 403 page; actions go through the services and say what
happened; no page shows an endpoint or token; a page costs the same queries at any size."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from eth_account import Account

from market.audit.sequencer import audit_sequence
from market.models import Alert, Dispute, Transfer
from market.selectors.ledger import balances
from market.services import resources as resource_services
from openclaw.periodic import run_job
from tests.console.support import console_sign_in
from tests.resource_helpers import USDC, fund, search_resource
from web3api.demo import load_demo
from web3api.demo.actors import demo_wallets
from web3api.identity.services import role_grant

pytestmark = pytest.mark.django_db

CANARY_ENDPOINT = "https://canary-endpoint.example.net/v1"
CANARY_TOKEN = "canary-token-5f1e2d"  # noqa: S105 - a marker the pages must never show
STAFF_PAGES = [
    "/console/overview/",
    "/console/alerts/",
    "/console/actors/",
    "/console/staff/resources/",
    "/console/staff/leases/",
    "/console/staff/ledger/",
]


@pytest.fixture
def demo(db):
    load_demo(lambda line: None)
    wallets = demo_wallets()
    resource_services.resource_publish(
        provider_actor_id=wallets["provider"].address,
        kind="search",
        name="Canary search",
        backend="searxng",
        endpoint=CANARY_ENDPOINT,
        access_token=CANARY_TOKEN,
        pricing={"unit": "query", "unitPrice": USDC // 100, "currency": "USDC"},
    )
    return wallets


def _as(client, roles=(), account=None):
    account = account or Account.create()
    for role in roles:
        role_grant(actor_id=account.address.lower(), role=role)
    console_sign_in(client, account)
    return account.address.lower()


def _arbitration_pages() -> list[str]:
    return [
        "/console/arbitration/",
        *[f"/console/arbitration/{d}/" for d in Dispute.objects.values_list("dispute_id", flat=True)],
    ]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_render_for_staff_and_refuse_others(demo, client, path):
    # given a signed-in staff actor
    _as(client, roles=("staff",))
    # when they open the page, then it renders with the operator's navigation
    page = client.get(path)
    assert page.status_code == 200, page.content[:400]
    assert b"Leases and settlements" in page.content
    # when a non-staff actor opens it (on a fresh client), then the 403 page says why
    client.logout()
    _as(client)
    refused = client.get(path)
    assert refused.status_code == 403 and b"this page is for staff" in refused.content


def test_arbitration_pages_are_for_arbitrators_and_staff(demo, client):
    # given an arbitrator
    _as(client, roles=("arbitrator",))
    for path in _arbitration_pages():
        assert client.get(path).status_code == 200, path
    # when a plain actor opens them, then each is refused with the 403 page
    client.logout()
    _as(client)
    for path in _arbitration_pages():
        page = client.get(path)
        assert page.status_code == 403 and b"this page is for arbitrators" in page.content, path


def test_no_staff_or_arbitration_page_shows_an_endpoint_or_token(demo, client):
    # given staff who are also arbitrators, over the demo market with a canary resource
    _as(client, roles=("staff", "arbitrator"))
    pages = [*STAFF_PAGES, *_arbitration_pages(), "/console/staff/resources/?status=resource_published"]
    for path in pages:
        body = client.get(path).content.decode()
        # then neither the endpoint nor the token is in any page
        assert CANARY_ENDPOINT not in body and "canary-endpoint" not in body, path
        assert CANARY_TOKEN not in body and "localhost:8765" not in body, path


def test_overview_shows_the_demo_market(demo, client):
    _as(client, roles=("staff",))
    page = client.get("/console/overview/").content.decode()
    assert "Settlement queue" in page and "Market status by part" in page
    assert "an arbitrator&#x27;s ruling" in page or "an arbitrator's ruling" in page
    assert "demo-disputes-open" in page  # the demo's firing alert
    # and once the overview job has run, the page shows its stored figures and when they were computed
    run_job("monitor.overview")
    page = client.get("/console/overview/").content.decode()
    assert "by the overview job" in page and "demo-disputes-open" in page and "Settlement queue" in page


def test_staff_acknowledges_an_alert_through_the_service(demo, client):
    # given the demo's firing alert
    staff = _as(client, roles=("staff",))
    alert = Alert.objects.get(rule__name="demo-disputes-open", status="alert_active")
    # when staff acknowledge it from the alerts page
    r = client.post("/console/alerts/acknowledge/", {"alert_id": alert.alert_id}, follow=True)
    # then it is acknowledged by them, and the page says so
    alert.refresh_from_db()
    assert alert.status == "alert_acknowledged" and alert.acknowledged_by == staff
    assert f"Alert {alert.alert_id} (demo-disputes-open) acknowledged" in r.content.decode()


def test_staff_silence_and_edit_a_rule(demo, client):
    _as(client, roles=("staff",))
    r = client.post("/console/alerts/silence/", {"name": "demo-disputes-open", "minutes": "60"}, follow=True)
    assert "silenced for 60 minutes" in r.content.decode()
    form = client.get("/console/alerts/?edit=demo-disputes-open").content.decode()
    assert 'name="threshold"' in form
    r = client.post(
        "/console/alerts/rule/",
        {"name": "demo-disputes-open", "threshold": "2", "for_sec": "0", "severity": "P1", "enabled": "on"},
        follow=True,
    )
    assert "Rule demo-disputes-open saved." in r.content.decode()
    bad = client.post("/console/alerts/rule/", {"name": "demo-disputes-open", "threshold": "x", "for_sec": "-1"})
    assert bad.status_code == 400 and b"Enter a number" in bad.content


def test_staff_credit_an_account_with_a_reason(demo, client):
    # given staff and an actor
    staff = _as(client, roles=("staff",))
    actor = Account.create().address.lower()
    # when staff credit 12.5 USDC to the actor
    r = client.post(
        "/console/actors/credit/",
        {"actor_id": actor, "amount": "12.5", "currency": "USDC", "reason": "refund of a failed call"},
        follow=True,
    )
    # then the balance holds it, the transfer is a deposit recorded by them, and the page says so
    assert balances(actor)["USDC"]["available"] == 12_500_000
    assert Transfer.objects.filter(code="deposit", credit_account__actor_id=actor).count() == 1
    assert "Credited 12.500000 USDC to " + actor in r.content.decode()
    from market.models import AuditEvent

    assert AuditEvent.objects.filter(actor_id=staff, payload__contains="refund of a failed call").exists()
    # and an amount with too many decimals is refused on its field, in plain words
    bad = client.post(
        "/console/actors/credit/", {"actor_id": actor, "amount": "1.1234567", "currency": "USDC", "reason": "x"}
    )
    assert bad.status_code == 400 and b"field-error" in bad.content


def test_an_arbitrator_sees_the_split_and_rules(demo, client):
    # given the demo's open dispute and an arbitrator who is not a party
    _as(client, roles=("arbitrator",))
    dispute = Dispute.objects.get(status="dispute_open")
    path = f"/console/arbitration/{dispute.dispute_id}/"
    page = client.get(path).content.decode()
    assert "attached by the market" in page and 'type="range"' in page
    # when they ask for the amounts of a 25% share
    split = client.get(path + "split/?payee_share_bps=2500").content.decode()
    # then the server computes them (35 USDC in dispute: 8.75 to the deliverer, 26.25 back)
    assert "8.750000 USDC" in split and "26.250000 USDC" in split
    # when they rule at 25%
    r = client.post(
        path + "rule/", {"decision": "rule", "payee_share_bps": "2500", "rationale": "A quarter was done."}, follow=True
    )
    # then the dispute is resolved with that share, and the page says what moves
    dispute.refresh_from_db()
    assert dispute.status == "dispute_resolved" and dispute.payee_share_bps == 2500
    assert "Ruled: 8.750000 USDC to the deliverer and 26.250000 USDC back to the creator" in r.content.decode()


def test_a_party_cannot_rule_on_its_own_dispute(demo, client):
    dispute = Dispute.objects.get(status="dispute_open")
    bidder = demo["bidder"]
    role_grant(actor_id=bidder.address, role="arbitrator")
    console_sign_in(client, Account.from_key(bidder.key))
    page = client.get(f"/console/arbitration/{dispute.dispute_id}/").content.decode()
    assert "a party cannot rule on its own dispute" in page
    r = client.post(f"/console/arbitration/{dispute.dispute_id}/rule/", {"decision": "decline", "rationale": "x"})
    assert r.status_code == 400
    dispute.refresh_from_db()
    assert dispute.status == "dispute_open"


def test_ledger_page_traces_an_object_and_shows_a_proof(demo, client):
    _as(client, roles=("staff",))
    dispute = Dispute.objects.filter(ruled_at__isnull=False).first()
    page = client.get(f"/console/staff/ledger/?traceType=dispute&traceId={dispute.dispute_id}").content.decode()
    assert "dispute.rule" in page and "sealed in checkpoint" in page
    event = re.search(r'href="\?event=(evt_[0-9a-z]+)"', page).group(1)
    proof = client.get(f"/console/staff/ledger/?event={event}").content.decode()
    assert "Inclusion proof of event" in proof and "Path (leaf to root)" in proof


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_staff_pages_cost_the_same_queries_for_50_and_500_objects(client):
    from market.services import leases as lease_services

    # given 50 leases of 50 resources, and a staff viewer
    _as(client, roles=("staff", "arbitrator"))
    provider, consumer = Account.create().address.lower(), Account.create().address.lower()
    fund(consumer, 5000)

    def add(n):
        for _ in range(n):
            r = search_resource(provider)
            lease_services.lease_issue(
                resource_id=r.resource_id,
                consumer_actor_id=consumer,
                max_cost=USDC,
                currency="USDC",
                max_cost_text="1",
                ttl_sec=3600,
            )

    pages = [*STAFF_PAGES, "/console/arbitration/"]
    add(50)
    audit_sequence()  # as after their commits: the test's own transaction never commits
    few = {p: _queries(client, p) for p in pages}
    # when there are 500
    add(450)
    audit_sequence()
    many = {p: _queries(client, p) for p in pages}
    # then each page costs the same queries
    assert many == few


def test_staff_retry_a_failed_sweep_from_the_leases_page(demo, client):
    from market.models import OperationFailure

    # given a failed run of the expiry sweep
    _as(client, roles=("staff",))
    OperationFailure.objects.create(operation="job:leases.expire", kind="internal")
    page = client.get("/console/staff/leases/").content.decode()
    assert "Retry leases.expire" in page
    # when staff retry it (a next page elsewhere is not followed)
    r = client.post("/console/staff/sweeps/retry/", {"job": "leases.expire", "next": "https://elsewhere.example/"})
    # then the sweep ran and they are back on the leases page, told what it did
    assert (r.status_code, r.headers["Location"]) == (302, "/console/staff/leases/")
    assert "The sweep leases.expire ran" in client.get("/console/staff/leases/").content.decode()
    # and a job that is not a money sweep is not run
    r = client.post("/console/staff/sweeps/retry/", {"job": "audit.anchor"}, follow=True)
    assert "That is not a money sweep" in r.content.decode()
