"""What the console's forms do: each action one service call, refusals on the field they concern
in plain words, only the actions the object's state and the viewer allow, times in the viewer's
zone, and staff's password sign-in."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from eth_account import Account

from market.models import DisputeEvidence, TaskBid
from market.services import tasks
from tests.console.support import console_sign_in
from tests.resource_helpers import USDC, fund
from web3api.demo import demo_wallets, load_demo
from web3api.models import ConsoleActor

pytestmark = pytest.mark.django_db


def _task(creator: str, budget: int = 5):
    return tasks.task_publish(
        actor_id=creator,
        title="Proofread",
        requirements="Two pages.",
        budget=budget * USDC,
        currency="USDC",
        ttl_sec=3600,
    )


def test_a_bid_above_the_budget_is_refused_on_the_price_field(client):
    # given an open task with a 5 USDC budget, and a bidder signed in
    task = _task(Account.create().address.lower())
    console_sign_in(client)
    # when they bid 6 USDC
    r = client.post(f"/console/tasks/{task.task_id}/", {"action": "bid", "price": "6", "eta_sec": "3600"})
    # then the form comes back with the market's words on the price field, and no bid exists
    assert r.status_code == 400
    price_field = r.content.decode().split('for="id_price"')[1].split("</div>")[0]
    assert "field-error" in price_field and "budget" in price_field
    assert not TaskBid.objects.exists()


def test_the_page_offers_each_viewer_only_the_actions_the_state_allows(client):
    # given an open task with one bid
    creator, bidder = Account.create(), Account.create()
    task = _task(creator.address.lower())
    tasks.bid_place(task_id=task.task_id, actor_id=bidder.address.lower(), price=4 * USDC, eta_sec=3600)
    # when the bidder looks, then they may withdraw but not award, bid again or cancel
    console_sign_in(client, bidder)
    page = client.get(f"/console/tasks/{task.task_id}/").content.decode()
    assert (
        ">Withdraw bid</button>" in page
        and ">Award</button>" not in page
        and ">Place bid</button>" not in page
        and ">Cancel task</button>" not in page
    )
    # when the creator looks, then they may award and cancel, not bid
    client.logout()
    console_sign_in(client, creator)
    page = client.get(f"/console/tasks/{task.task_id}/").content.decode()
    assert ">Award</button>" in page and ">Cancel task</button>" in page and ">Place bid</button>" not in page


def test_times_show_in_the_zone_the_browser_reported_at_sign_in(client):
    # given an actor whose browser reported Asia/Tokyo (UTC+9) when signing in
    account = Account.create()
    from tests.conftest import Api, sign

    challenge = Api(client).call("web3.siwe.challenge", {"address": account.address}).result
    client.post(
        "/console/signin/",
        {"message": challenge["message"], "signature": sign(account, challenge["message"]), "timezone": "Asia/Tokyo"},
    )
    task = _task(account.address.lower())
    # when they open the task
    page = client.get(f"/console/tasks/{task.task_id}/").content.decode()
    # then its deadline reads in their zone, relative and absolute
    assert "JST" in page and "in 59 min" in page


def test_staff_sign_in_with_a_password_and_land_on_the_overview(client):
    # given a staff user linked to an actor
    user = get_user_model().objects.create_user("ops", password="a-long-password-1", is_staff=True)
    ConsoleActor.objects.create(user=user, actor_id=Account.create().address.lower())
    # when they sign in with the password
    r = client.post("/console/signin/", {"method": "password", "username": "ops", "password": "a-long-password-1"})
    # then they land on the overview, signed in as staff
    assert r.headers["Location"] == "/console/"
    overview = client.get("/console/", follow=True)
    assert overview.redirect_chain[-1][0] == "/console/overview/" and b"staff" in overview.content


def test_a_wrong_password_is_refused_on_the_form(client):
    r = client.post("/console/signin/", {"method": "password", "username": "nobody", "password": "x"})
    assert r.status_code == 400 and b"Please enter a correct username and password" in r.content


def test_a_party_adds_text_and_file_evidence_to_a_dispute(client):
    # given the demo's open dispute, and its deliverer (the demo bidder) signed in
    load_demo(lambda line: None)
    from market.models import Dispute

    dispute = Dispute.objects.get(status="dispute_open")
    console_sign_in(client, Account.from_key(demo_wallets()["bidder"].key))
    # when they add a statement, then a file (its sha256 computed from it; the file is not kept)
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/console/disputes/{dispute.dispute_id}/"
    before = list(DisputeEvidence.objects.filter(dispute=dispute).order_by("pk").values_list("pk", "kind"))
    client.post(url, {"action": "evidence", "content": "The brief lists 12 cases; all 12 are covered."})
    client.post(url, {"action": "evidence", "file": SimpleUploadedFile("cases.txt", b"case 1..12\n")})
    # then both are in the dispute's evidence, after the market's own bundle
    items = list(
        DisputeEvidence.objects.filter(dispute=dispute)
        .exclude(pk__in=[pk for pk, _ in before])
        .order_by("pk")
        .values_list("submitter_actor_id", "kind", "sha256")
    )
    import hashlib

    assert before[0][1] == "bundle"
    assert [i[1] for i in items] == ["text", "file"]
    assert items[1][2] == hashlib.sha256(b"case 1..12\n").hexdigest()
    assert "sha256:" in client.get(url).content.decode()


def test_a_low_balance_threshold_is_saved_and_warns(client):
    # given an actor with 3 USDC
    account = console_sign_in(client)
    fund(account.address.lower(), 3)
    # when they ask to be warned below 5 USDC
    client.post("/console/settings/threshold/", {"currency": "USDC", "amount": "5"})
    # then the dashboard warns them
    page = client.get("/console/").content.decode()
    assert "Low balance: 3.000000 USDC available, below your notice at 5.000000 USDC." in page


def test_the_leases_list_pages_newest_first_across_both_roles(client):
    # given an actor with 15 leases as consumer and 15 as provider, interleaved
    from market.models import Lease
    from market.services import leases
    from tests.resource_helpers import search_resource

    me, other = Account.create(), Account.create()
    mine, theirs = search_resource(me.address.lower()), search_resource(other.address.lower())
    fund(me.address.lower(), 100)
    fund(other.address.lower(), 100)
    for _ in range(15):
        for resource, consumer in ((theirs, me), (mine, other)):
            leases.lease_issue(
                resource_id=resource.resource_id,
                consumer_actor_id=consumer.address.lower(),
                max_cost=USDC,
                currency="USDC",
                ttl_sec=600,
            )
    console_sign_in(client, me)
    # when they read both pages of their leases
    first = client.get("/console/leases/").context["page_obj"]
    second = client.get("/console/leases/?page=2").context["page_obj"]
    # then they are every lease once, newest first, 25 then 5
    shown = [lease.lease_id for lease in [*first.items, *second.items]]
    assert (len(first.items), first.has_next, len(second.items), second.has_next) == (25, True, 5, False)
    assert shown == list(Lease.objects.order_by("-pk").values_list("lease_id", flat=True))
    # and the role filter narrows to one side
    as_provider = client.get("/console/leases/?role=provider").context["page_obj"]
    assert {lease.provider_actor_id for lease in as_provider.items} == {me.address.lower()}
