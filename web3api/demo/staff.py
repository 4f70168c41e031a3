"""Demo step for the operator's and the arbitrators' pages: a second disputed task that the demo
arbitrator has ruled on (so the workspace shows a ruling, its appeal window and its seal), a credit
by the operator with its reason, and (the last step, step_seal) a checkpoint sealing what the demo
did (so the ledger page offers inclusion proofs). The first dispute stays open for the arbitrator to rule on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from market.models import Dispute, TaskOrder, Transfer
from market.money import currencies
from market.services import disputes, ledger, results, tasks
from web3api.demo.task_market import SHA

log = logging.getLogger("web3api.demo")
TITLE = "Demo: design a logo"


def step_staff(wallets, out: Callable[[str], None]) -> None:
    creator, bidder = wallets["creator"].address, wallets["bidder"].address
    arbitrator, operator = wallets["arbitrator"].address, wallets["operator"].address
    currency = next(iter(currencies()))
    unit = 10 ** currencies()[currency]
    if TaskOrder.objects.filter(creator_actor_id=creator, title=TITLE).exists():
        out(f"task '{TITLE}' exists")
    else:
        task = tasks.task_publish(
            actor_id=creator,
            title=TITLE,
            requirements="Three drafts, SVG.",
            budget=12 * unit,
            currency=currency,
            ttl_sec=7 * 86400,
        )
        bid = tasks.bid_place(
            task_id=task.task_id, actor_id=bidder, price=10 * unit, eta_sec=86400, note="Portfolio attached."
        )
        tasks.task_award(task_id=task.task_id, bid_id=bid.bid_id, actor_id=creator)
        result = results.result_submit(
            task_id=task.task_id,
            actor_id=bidder,
            summary="Three drafts.",
            artifacts=[{"name": "logo.svg", "sha256": SHA}],
        )
        results.result_review(
            result_id=result.result_id, actor_id=creator, decision="reject", reason="Only two drafts."
        )
        dispute, _ = disputes.dispute_open(
            task_id=task.task_id, actor_id=bidder, reason="The third draft is in the file."
        )
        disputes.dispute_resolve(
            dispute_id=dispute.dispute_id,
            actor_id=arbitrator,
            decision=Dispute.Decision.RULE,
            payee_share_bps=6000,
            rationale="Two drafts were delivered in full, the third in part.",
        )
        out(f"task disputed and ruled (60% to the deliverer): {task.task_id}, dispute {dispute.dispute_id}")
    key = f"demo:operator-credit:{currency}"
    if not Transfer.objects.filter(idempotency_key=key).exists():
        ledger.deposit(
            actor_id=wallets["consumer"].address,
            amount=5 * unit,
            currency=currency,
            by_actor_id=operator,
            reason="Demo: goodwill credit after a provider outage",
            idempotency_key=key,
        )
        out(f"operator credited the consumer 5 {currency} with a reason")


def step_seal(wallets, out: Callable[[str], None]) -> None:
    """The last demo step: a checkpoint sealing what the demo did (nothing new on a second run)."""
    try:
        from market.audit.checkpoints import seal_sweep

        out(f"audit sealed: {seal_sweep()}")
    except Exception:  # noqa: BLE001 - without a checkpoint key the sweep's own job seals later
        log.warning("demo: could not seal the audit log now; the audit.seal job will")
