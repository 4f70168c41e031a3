"""Helpers for the task market and dispute tests: funding, balances, and a task driven to a state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from market.money import parse_amount
from market.selectors.ledger import balances
from market.services import ledger

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SHA = "ab" * 32


def fund(actor_id: str, amount: str, currency: str = "USDC") -> None:
    ledger.deposit(actor_id=actor_id, amount=parse_amount(amount, currency), currency=currency)


def available(actor_id: str, currency: str = "USDC") -> int:
    return balances(actor_id)[currency]["available"]


def locked(actor_id: str, currency: str = "USDC") -> int:
    return balances(actor_id)[currency]["locked"]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Flow:
    """A task between a creator and a bidder, advanced step by step through the API."""

    creator: object
    bidder: object
    budget: str = "10.000000"
    price: str = "8.000000"
    eta: int = 3600
    review_sec: int = 3600
    task: dict = field(default_factory=dict)
    bid: dict = field(default_factory=dict)
    award: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)

    def publish(self, **extra):
        params = {
            "title": "Summarise",
            "requirements": "200 words",
            "budget": self.budget,
            "currency": "USDC",
            "ttlSec": 7200,
            "reviewWindowSec": self.review_sec,
            **extra,
        }
        self.task = self.creator.call("web3.market.publishTask", params).result
        return self

    def place_bid(self, **extra):
        self.bid = self.bidder.call(
            "web3.market.placeBid", {"taskId": self.task["taskId"], "price": self.price, "etaSec": self.eta, **extra}
        ).result
        return self

    def award_bid(self):
        self.award = self.creator.call(
            "web3.market.awardBid", {"taskId": self.task["taskId"], "bidId": self.bid["bidId"]}
        ).result
        return self

    def submit(self, **extra):
        self.result = self.bidder.call(
            "web3.market.submitResult",
            {
                "taskId": self.task["taskId"],
                "summary": "done",
                "artifacts": [{"name": "out.txt", "sha256": SHA}],
                **extra,
            },
        ).result
        return self

    def review(self, decision: str, reason: str = ""):
        return self.creator.call(
            "web3.market.reviewResult", {"resultId": self.result["resultId"], "decision": decision, "reason": reason}
        )

    def delivered(self):
        return self.publish().place_bid().award_bid().submit()

    def dispute(self, reason: str = "the work was done"):
        return self.bidder.call("web3.dispute.open", {"taskId": self.task["taskId"], "reason": reason})

    def get_task(self, api=None):
        return (api or self.creator).call("web3.market.getTask", {"taskId": self.task["taskId"]}).result
