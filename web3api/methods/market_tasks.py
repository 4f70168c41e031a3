"""web3.market.publishTask|listTasks|getTask|cancelTask|placeBid|withdrawBid|listBids|awardBid."""

from rest_framework import serializers

from market.hashing import BID_HASH_FIELDS, TASK_HASH_FIELDS
from market.money import parse_amount
from market.selectors import tasks as task_selectors
from market.services import tasks as task_services
from web3api.money import amounts_to_minor, currency_field, money_field
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import (
    SIGNATURE_PATTERN,
    Params,
    StrictCharField,
    StrictRegexField,
    cursor_field,
    id_field,
    limit_field,
)
from web3api.shapes.tasks import TaskAwardOut, TaskBidOut, TaskDetailOut, TaskOrderOut

MAX_SEC = 30 * 86400
UNDELIVERED = (
    "An award with no result WEB3_DELIVERY_GRACE_SEC (default 3600 s) after its deliverBy is revoked by "
    "the tasks.undelivered sweep: the locked price is refunded to the creator, and the task is open for "
    "bids again (task_open) while its expiresAt is ahead, else it is task_expired."
)


def signature_field(what: str) -> StrictRegexField:
    return StrictRegexField(
        SIGNATURE_PATTERN,
        required=False,
        help_text=(
            f"Optional EIP-191 personal_sign by the caller's wallet of the string "
            f"'sha256:' + hex(sha256(RFC 8785 JSON of {what})), amounts as decimal strings with the currency's "
            "scale. Required when the task has requireSignatures. No schema can check a signature: one that "
            "recovers to no key is E_INVALID_ARGUMENT, one by another wallet E_AUTH_REQUIRED."
        ),
    )


class PublishTaskParams(Params):
    title = StrictCharField(max_length=200)
    requirements = StrictCharField(max_length=10000, help_text="What the deliverer must produce.")
    budget = money_field(
        "Most the creator will pay; at most WEB3_TASK_BUDGET_CAP when the market sets one.", currency="currency"
    )
    currency = currency_field()
    ttlSec = serializers.IntegerField(min_value=1, max_value=MAX_SEC, help_text="Open for bids this long.")
    reviewWindowSec = serializers.IntegerField(
        min_value=1, max_value=MAX_SEC, required=False, help_text="Default WEB3_REVIEW_WINDOW_SEC."
    )
    requireSignatures = serializers.BooleanField(default=False, help_text="Refuse unsigned bids and results.")

    def validate(self, attrs):
        return amounts_to_minor(self, attrs)


@method(
    name="web3.market.publishTask",
    summary="Post a task for others to bid on.",
    group="market",
    params=PublishTaskParams,
    result=TaskOrderOut,
    hash_fields=TASK_HASH_FIELDS,
    risk="low",
    permissions=["any signed-in actor"],
    errors=["E_QUOTA_EXCEEDED"],
    description="No money moves until a bid is awarded. Over WEB3_TASK_BUDGET_CAP: E_INVALID_ARGUMENT; more "
    "than WEB3_MAX_OPEN_TASKS open tasks: E_QUOTA_EXCEEDED.",
    examples=[
        {
            "params": {
                "title": "Summarise a paper",
                "requirements": "200 words",
                "budget": "10.00",
                "currency": "USDC",
                "ttlSec": 3600,
            }
        }
    ],
)
def publish_task(call, params):
    return task_services.task_publish(
        actor_id=call.actor_id,
        title=params["title"],
        requirements=params["requirements"],
        budget=params["budget"],
        currency=params["currency"],
        ttl_sec=params["ttlSec"],
        review_window_sec=params.get("reviewWindowSec"),
        require_signatures=params["requireSignatures"],
    )


class ListTasksParams(Params):
    status = serializers.ChoiceField(choices=task_selectors.TaskOrder.Status.values, required=False)
    creatorActorId = serializers.CharField(max_length=42, required=False)
    currency = currency_field(required=False)
    limit = limit_field()
    cursor = cursor_field()


class ListTasksResult(serializers.Serializer):
    items = TaskOrderOut(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.market.listTasks",
    summary="Tasks: every open task, plus those the caller created or bid on.",
    group="market",
    read_only=True,
    params=ListTasksParams,
    result=ListTasksResult,
    permissions=["open tasks are public; other tasks only for their creator, bidders and staff"],
)
def list_tasks(call, params):
    qs = task_selectors.task_list(
        actor_id=call.actor_id,
        is_staff=call.is_staff,
        filters={
            "status": params.get("status"),
            "creatorActorId": params.get("creatorActorId"),
            "currency": params.get("currency"),
        },
    )
    return paginate(qs, params, lambda task: task)


class TaskIdParams(Params):
    taskId = id_field("task")


@method(
    name="web3.market.getTask",
    summary="One task, with its award, result and receipt for its parties.",
    group="market",
    read_only=True,
    params=TaskIdParams,
    result=TaskDetailOut,
    errors=["E_NOT_FOUND"],
    permissions=["open tasks are public; other tasks only for their creator, bidders and staff"],
    hash_fields=TASK_HASH_FIELDS,
)
def get_task(call, params):
    return task_selectors.task_detail(task_id=params["taskId"], actor_id=call.actor_id, is_staff=call.is_staff)


@method(
    name="web3.market.cancelTask",
    ends_object=True,
    idempotent=True,
    summary="Cancel an open task, or an awarded one past deliverBy (refund).",
    moves_money=True,
    group="market",
    params=TaskIdParams,
    result=TaskOrderOut,
    risk="medium",
    permissions=["the task's creator"],
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED"],
    prerequisites=[
        "task_open (its live bids are rejected), or task_awarded with deliverBy passed and no result "
        "(the award is revoked and the locked budget refunded)"
    ],
    description="The creator need not wait for the sweep: from deliverBy on it may cancel an undelivered award "
    "itself (task_cancelled). " + UNDELIVERED,
)
def cancel_task(call, params):
    return task_services.task_cancel(task_id=params["taskId"], actor_id=call.actor_id, is_staff=call.is_staff)


class PlaceBidParams(Params):
    taskId = id_field("task")
    price = money_field(
        "At most the task's budget, with at most the scale of the task's currency (the task "
        "decides both; see web3.market.getTask)."
    )
    etaSec = serializers.IntegerField(min_value=1, max_value=MAX_SEC, help_text="deliverBy = awardedAt + etaSec.")
    note = StrictCharField(max_length=2000, required=False, default="", allow_blank=True)
    signature = signature_field("{taskId, price, etaSec, note}")


@method(
    name="web3.market.placeBid",
    summary="Bid on an open task.",
    group="market",
    params=PlaceBidParams,
    result=TaskBidOut,
    hash_fields=BID_HASH_FIELDS,
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED", "E_AUTH_REQUIRED"],
    permissions=["any actor but the task's creator"],
    unexpressible={"price": "at most the task's budget, in the task's currency's scale (the task's state)"},
    prerequisites=[
        "the task is task_open and before expiresAt",
        "one live bid per bidder per task",
        "at most WEB3_BIDS_PER_MINUTE bids per minute",
    ],
)
def place_bid(call, params):
    task = task_selectors.task_get(task_id=params["taskId"], actor_id=call.actor_id)
    return task_services.bid_place(
        task_id=params["taskId"],
        actor_id=call.actor_id,
        price=parse_amount(params["price"], task.currency, field="price"),
        eta_sec=params["etaSec"],
        note=params["note"],
        signature=params.get("signature"),
    )


class BidIdParams(Params):
    bidId = id_field("bid")


@method(
    name="web3.market.withdrawBid",
    ends_object=True,
    idempotent=True,
    summary="Withdraw a live bid.",
    group="market",
    params=BidIdParams,
    result=TaskBidOut,
    permissions=["the bidder"],
    errors=["E_NOT_FOUND", "E_CONFLICT"],
    prerequisites=["the bid is bid_submitted"],
)
def withdraw_bid(call, params):
    return task_services.bid_withdraw(bid_id=params["bidId"], actor_id=call.actor_id, is_staff=call.is_staff)


class ListBidsParams(Params):
    taskId = id_field("task")
    limit = limit_field()
    cursor = cursor_field()


class ListBidsResult(serializers.Serializer):
    items = TaskBidOut(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.market.listBids",
    summary="A task's bids: all for its creator, only its own for a bidder.",
    group="market",
    read_only=True,
    params=ListBidsParams,
    result=ListBidsResult,
    errors=["E_NOT_FOUND"],
)
def list_bids(call, params):
    task = task_selectors.task_get(task_id=params["taskId"], actor_id=call.actor_id, is_staff=call.is_staff)
    bids = task_selectors.bid_list(task=task, actor_id=call.actor_id, is_staff=call.is_staff)
    return paginate(bids, params, lambda bid: bid)


class AwardBidParams(Params):
    taskId = id_field("task")
    bidId = id_field("bid", help_text="A bid_submitted bid of this task.")


@method(
    name="web3.market.awardBid",
    summary="Accept a bid: its price is locked in escrow from the creator.",
    moves_money=True,
    group="market",
    params=AwardBidParams,
    result=TaskAwardOut,
    risk="high",
    permissions=["the task's creator"],
    errors=["E_NOT_FOUND", "E_CONFLICT", "E_EXPIRED", "E_INSUFFICIENT_FUNDS"],
    prerequisites=[
        "the task is task_open and before expiresAt",
        "the bid is bid_submitted",
        "the creator's available balance covers the price (else nothing changes)",
    ],
    pricing={"model": "escrow", "note": "the bid's price is locked from the creator until the review"},
    description="deliverBy = awardedAt + the bid's etaSec. " + UNDELIVERED,
)
def award_bid(call, params):
    return task_services.task_award(
        task_id=params["taskId"], bid_id=params["bidId"], actor_id=call.actor_id, is_staff=call.is_staff
    )
