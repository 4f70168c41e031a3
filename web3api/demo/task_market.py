"""Demo step for the task market: tasks in several states and one open dispute, between the demo
wallets' creator and bidder (the arbitrator can rule on the dispute from the console)."""

from __future__ import annotations

from collections.abc import Callable

from market.models import TaskOrder
from market.money import currencies
from market.services import disputes, results, tasks

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def step_market(wallets, out: Callable[[str], None]) -> None:
    creator, bidder = wallets["creator"].address, wallets["bidder"].address
    currency = next(iter(currencies()))
    scale = currencies()[currency]

    def units(whole: int) -> int:
        return whole * 10**scale

    def publish(title: str, budget: int) -> TaskOrder | None:
        if TaskOrder.objects.filter(creator_actor_id=creator, title=title).exists():
            out(f"task '{title}' exists")
            return None
        return tasks.task_publish(
            actor_id=creator,
            title=title,
            requirements="See the attached brief.",
            budget=units(budget),
            currency=currency,
            ttl_sec=7 * 86400,
        )

    def awarded(task: TaskOrder, price: int):
        bid = tasks.bid_place(
            task_id=task.task_id, actor_id=bidder, price=units(price), eta_sec=2 * 86400, note="Can start today."
        )
        return tasks.task_award(task_id=task.task_id, bid_id=bid.bid_id, actor_id=creator)

    def deliver(task: TaskOrder):
        return results.result_submit(
            task_id=task.task_id,
            actor_id=bidder,
            summary="Delivered as briefed.",
            artifacts=[{"name": "result.md", "sha256": SHA}],
        )

    if task := publish("Demo: translate a README into German", 20):
        tasks.bid_place(task_id=task.task_id, actor_id=bidder, price=units(15), eta_sec=86400, note="Native speaker.")
        out(f"task open with a bid: {task.task_id}")
    if task := publish("Demo: label 100 images", 30):
        awarded(task, 25)
        out(f"task awarded: {task.task_id}")
    if task := publish("Demo: summarise a paper", 10):
        awarded(task, 8)
        result = deliver(task)
        results.result_review(result_id=result.result_id, actor_id=creator, decision="accept", reason="Thanks.")
        out(f"task closed and paid: {task.task_id}")
    if task := publish("Demo: write unit tests for a parser", 40):
        awarded(task, 35)
        result = deliver(task)
        results.result_review(
            result_id=result.result_id, actor_id=creator, decision="reject", reason="Half the cases are missing."
        )
        dispute, _ = disputes.dispute_open(
            task_id=task.task_id, actor_id=bidder, reason="All the cases in the brief are covered."
        )
        out(f"task disputed: {task.task_id}, dispute {dispute.dispute_id} open for the arbitrator")
