"""The market's demo step, its status part and its admin pages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from market.models import Dispute, TaskOrder
from web3api.demo.actors import demo_wallets, step_funds
from web3api.demo.task_market import step_market


@pytest.fixture
def demo(db):
    wallets = demo_wallets()
    lines: list[str] = []
    step_funds(wallets, lines.append)
    step_market(wallets, lines.append)
    return wallets, lines


def test_demo_has_tasks_in_several_states_and_one_open_dispute(demo):
    wallets, _ = demo
    statuses = sorted(
        TaskOrder.objects.filter(creator_actor_id=wallets["creator"].address).values_list("status", flat=True)
    )
    assert statuses == ["task_awarded", "task_awarded", "task_closed", "task_open"]
    assert Dispute.objects.filter(status="dispute_open").count() == 1
    # a second run changes nothing
    lines: list[str] = []
    step_market(wallets, lines.append)
    assert TaskOrder.objects.count() == 4 and all("exists" in line for line in lines)


def test_status_summary_has_a_market_part(demo, alice):
    part = alice.call("web3.status.summary").result["parts"]["market"]
    assert part["status"] == "ok"
    assert part["message"].startswith("1 open tasks, 2 awarded, 1 live disputes")


def test_admin_pages(demo, client):
    user = get_user_model().objects.create_superuser(username="root", email="", password="x")
    client.force_login(user)
    for name in ("taskorder", "taskbid", "taskaward", "taskresult", "taskreceipt", "dispute", "disputeevidence"):
        assert client.get(f"/admin/market/{name}/").status_code == 200, name
    dispute = Dispute.objects.get()
    page = client.get(f"/admin/market/dispute/{dispute.pk}/change/")
    assert page.status_code == 200
    assert b"bundle" in page.content


def test_admin_pages_show_budgets_and_prices_with_their_currency(demo, client):
    from market.models import TaskBid
    from market.money import format_amount

    # given the demo's tasks and bids, and a signed-in superuser
    user = get_user_model().objects.create_superuser(username="root", email="", password="x")
    client.force_login(user)

    # when the tasks' and the bids' lists are opened
    tasks = client.get("/admin/market/taskorder/").content.decode()
    bids = client.get("/admin/market/taskbid/").content.decode()

    # then each budget and price is an amount of its task's currency, not minor units
    for task in TaskOrder.objects.all():
        assert f"{format_amount(task.budget, task.currency)} {task.currency}" in tasks
        assert f">{task.budget}<" not in tasks
    for bid in TaskBid.objects.select_related("task"):
        assert f"{format_amount(bid.price, bid.task.currency)} {bid.task.currency}" in bids
        assert f">{bid.price}<" not in bids
