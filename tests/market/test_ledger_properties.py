"""Property test of the ledger (DESIGN.md "Money", invariants 1-4): a hypothesis state machine runs
random deposits, withdrawals, transfers, escrow locks, partial and full releases and refunds,
valid and invalid, against the real services and database, beside a plain-Python model.

After every step: per currency the balances sum to zero; no actor account is below zero; every
settlement has locked = released + refunded + remaining with remaining >= 0 and the status API.md
defines for its amounts; every account's totals equal the fold of its transfers. An invalid step
raises the expected MarketError and changes nothing. At the end of each example `verify_audit`
prints "ok".

Each example runs in a savepoint of the test's transaction and is rolled back in teardown, so
every example starts from an empty ledger.
"""

from __future__ import annotations

from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Sum
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from market.audit.verify import folded_totals
from market.errors import Conflict, InsufficientFunds, InvalidArgument, MarketError, NotFound
from market.models import Account, AuditEvent, Settlement, Transfer
from market.selectors.account_hours import mismatched_accounts
from market.services import escrow, ledger

CURRENCIES = "USDC:6,ETH:18"
ACTORS = ["0x" + f"{i:02x}" * 20 for i in (0xA1, 0xB2, 0xC3, 0xD4)]
SYSTEM = "system"
TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
S = Settlement.Status

actors = st.sampled_from(ACTORS)
currencies = st.sampled_from(["USDC", "ETH"])
# Mostly valid amounts, sometimes zero or negative (refused), sometimes large (ETH-sized minor units).
amounts = st.one_of(
    st.integers(min_value=1, max_value=2_000_000),
    st.integers(min_value=-3, max_value=0),
    st.integers(min_value=10**15, max_value=10**17),
)
# A share of what is available (most locks and transfers should fit), or a raw amount.
shares = st.one_of(st.floats(min_value=0.0, max_value=1.0), amounts)


def sized(share: float | int, available: int) -> int:
    if isinstance(share, float):
        return int(available * share) or available
    return share


def api_status(locked: int, released: int, refunded: int) -> str:
    """The settlement state API.md defines for these amounts."""
    remaining = locked - released - refunded
    if remaining > 0:
        return S.LOCKED if released == 0 else S.PARTIALLY_RELEASED
    return S.RELEASED if refunded == 0 else S.REFUNDED


def snapshot() -> tuple:
    """Everything a refused step must leave as it was (a lazily opened, empty account aside)."""
    accounts = sorted(
        (a.actor_id, a.currency, a.kind, *(getattr(a, t) for t in TOTALS))
        for a in Account.objects.all()
        if any(getattr(a, t) for t in TOTALS)
    )
    settlements = sorted(Settlement.objects.values_list("settlement_id", "status", "locked", "released", "refunded"))
    return accounts, settlements, Transfer.objects.count(), AuditEvent.objects.count()


class LedgerMachine(RuleBasedStateMachine):
    settlements = Bundle("settlements")

    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        # the model: available and locked per (actor, currency); settlements by id
        self.available: dict[tuple[str, str], int] = defaultdict(int)
        self.locked: dict[tuple[str, str], int] = defaultdict(int)
        self.model: dict[str, dict] = {}

    def teardown(self):
        try:
            out, err = StringIO(), StringIO()
            try:
                call_command("verify_audit", stdout=out, stderr=err)
            except SystemExit as exc:
                pytest.fail(f"verify_audit exited {exc.code}: {err.getvalue()}")
            assert out.getvalue().strip() == "ok"
        finally:
            transaction.savepoint_rollback(self.savepoint)

    # -- helpers -----------------------------------------------------------------------------------
    def refused(self, error: type[MarketError], fn, **kwargs) -> None:
        before = snapshot()
        with pytest.raises(error) as info:
            fn(**kwargs)
        assert info.value.code == error.code
        assert snapshot() == before, "a refused step changed the ledger"

    def check_settlement(self, s: Settlement) -> None:
        m = self.model[s.settlement_id]
        assert (s.locked, s.released, s.refunded) == (m["locked"], m["released"], m["refunded"])
        assert s.status == api_status(s.locked, s.released, s.refunded)

    # -- deposits, withdrawals, transfers --------------------------------------------------------------
    @initialize(amount=st.integers(min_value=1, max_value=10**17))
    def fund_everyone(self, amount):
        for actor in ACTORS[:-1]:  # the last actor starts with nothing
            for currency in ("USDC", "ETH"):
                ledger.deposit(actor_id=actor, amount=amount, currency=currency)
                self.available[actor, currency] += amount

    @rule(actor=actors, currency=currencies, amount=amounts)
    def deposit(self, actor, currency, amount):
        if amount <= 0:
            self.refused(InvalidArgument, ledger.deposit, actor_id=actor, amount=amount, currency=currency)
            return
        t = ledger.deposit(actor_id=actor, amount=amount, currency=currency, reason="test")
        assert (t.code, t.kind, t.amount) == ("deposit", "posted", amount)
        self.available[actor, currency] += amount

    @rule(actor=actors, currency=currencies, share=shares)
    def withdraw(self, actor, currency, share):
        amount = sized(share, self.available[actor, currency])
        if amount <= 0:
            self.refused(InvalidArgument, ledger.withdraw, actor_id=actor, amount=amount, currency=currency)
            return
        if amount > self.available[actor, currency]:
            self.refused(InsufficientFunds, ledger.withdraw, actor_id=actor, amount=amount, currency=currency)
            return
        ledger.withdraw(actor_id=actor, amount=amount, currency=currency)
        self.available[actor, currency] -= amount

    @rule(payer=actors, payee=actors, currency=currencies, share=shares)
    def transfer(self, payer, payee, currency, share):
        amount = sized(share, self.available[payer, currency])
        kwargs = {
            "from_actor_id": payer,
            "to_actor_id": payee,
            "amount": amount,
            "currency": currency,
            "by_actor_id": payer,
        }
        if payer == payee or amount <= 0:
            self.refused(InvalidArgument, ledger.transfer, **kwargs)
            return
        if amount > self.available[payer, currency]:
            self.refused(InsufficientFunds, ledger.transfer, **kwargs)
            return
        ledger.transfer(**kwargs)
        self.available[payer, currency] -= amount
        self.available[payee, currency] += amount

    # -- escrow ---------------------------------------------------------------------------------------
    @rule(target=settlements, payer=actors, payee=actors, currency=currencies, share=shares)
    def escrow_lock(self, payer, payee, currency, share):
        amount = sized(share, self.available[payer, currency])
        kwargs = {
            "payer_actor_id": payer,
            "payee_actor_id": payee,
            "amount": amount,
            "currency": currency,
            "by_actor_id": payer,
            "reference": "test:lock",
        }
        if payer == payee or amount <= 0:
            self.refused(InvalidArgument, escrow.escrow_lock, **kwargs)
            return multiple()
        if amount > self.available[payer, currency]:
            self.refused(InsufficientFunds, escrow.escrow_lock, **kwargs)
            return multiple()
        return self._lock(**kwargs)

    @rule(
        target=settlements,
        payer=actors,
        offset=st.integers(min_value=1, max_value=len(ACTORS) - 1),
        currency=currencies,
        fraction=st.floats(min_value=0.0, max_value=1.0),
    )
    def escrow_lock_what_fits(self, payer, offset, currency, fraction):
        """A lock that fits, often exactly everything available (the boundary)."""
        available = self.available[payer, currency]
        if available == 0:
            return multiple()
        payee = ACTORS[(ACTORS.index(payer) + offset) % len(ACTORS)]
        return self._lock(
            payer_actor_id=payer,
            payee_actor_id=payee,
            amount=int(available * fraction) or available,
            currency=currency,
            by_actor_id=payer,
            reference="test:lock",
        )

    def _lock(self, **kwargs) -> str:
        payer, payee, currency, amount = (kwargs[k] for k in ("payer_actor_id", "payee_actor_id", "currency", "amount"))
        s = escrow.escrow_lock(**kwargs)
        self.available[payer, currency] -= amount
        self.locked[payer, currency] += amount
        self.model[s.settlement_id] = {
            "payer": payer,
            "payee": payee,
            "currency": currency,
            "locked": amount,
            "released": 0,
            "refunded": 0,
        }
        self.check_settlement(s)
        return s.settlement_id

    def _remaining(self, m) -> int:
        return m["locked"] - m["released"] - m["refunded"]

    def _release(self, settlement_id: str, amount: int | None) -> None:
        m = self.model[settlement_id]
        remaining = self._remaining(m)
        kwargs = {"settlement_id": settlement_id, "amount": amount, "by_actor_id": SYSTEM}
        if remaining == 0:
            self.refused(Conflict, escrow.escrow_release, **kwargs)
            return
        if amount is not None and (amount <= 0 or amount > remaining):
            self.refused(InvalidArgument, escrow.escrow_release, **kwargs)
            return
        moved = remaining if amount is None else amount
        s = escrow.escrow_release(**kwargs)
        m["released"] += moved
        self.locked[m["payer"], m["currency"]] -= moved
        self.available[m["payee"], m["currency"]] += moved
        self.check_settlement(s)

    @rule(settlement_id=settlements, amount=amounts)
    def escrow_release_part(self, settlement_id, amount):
        self._release(settlement_id, amount)

    @rule(
        settlement_id=settlements,
        fraction=st.floats(min_value=0.0, max_value=1.0),
        extra=st.sampled_from([0, 0, 0, 1, 7]),
    )
    def escrow_release_share(self, settlement_id, fraction, extra):
        """A partial release that fits (raw random amounts rarely do), sometimes just over."""
        remaining = self._remaining(self.model[settlement_id])
        self._release(settlement_id, max(1, int(remaining * fraction)) + extra)

    @rule(settlement_id=settlements)
    def escrow_release_all(self, settlement_id):
        self._release(settlement_id, None)

    @rule(settlement_id=settlements)
    def escrow_refund(self, settlement_id):
        m = self.model[settlement_id]
        remaining = self._remaining(m)
        kwargs = {"settlement_id": settlement_id, "by_actor_id": SYSTEM, "reason": "test"}
        if remaining == 0:
            self.refused(Conflict, escrow.escrow_refund, **kwargs)
            return
        s = escrow.escrow_refund(**kwargs)
        m["refunded"] += remaining
        self.locked[m["payer"], m["currency"]] -= remaining
        self.available[m["payer"], m["currency"]] += remaining
        self.check_settlement(s)

    @rule(settlement_id=consumes(settlements))
    def close_and_forget(self, settlement_id):
        """Refund if still open, then drop it from the bundle (keeps the bundle mixed)."""
        if self._remaining(self.model[settlement_id]) > 0:
            self.escrow_refund(settlement_id)

    @precondition(lambda self: len(self.model) % 5 == 4)
    @rule()
    def unknown_settlement(self):
        self.refused(NotFound, escrow.escrow_release, settlement_id="stl_nope", by_actor_id=SYSTEM)
        self.refused(NotFound, escrow.escrow_refund, settlement_id="stl_nope", by_actor_id=SYSTEM)

    # -- invariants -----------------------------------------------------------------------------------
    @invariant()
    def balances_sum_to_zero_per_currency(self):
        rows = Account.objects.values("currency").annotate(
            posted=Sum(F("credits_posted") - F("debits_posted")),
            pending=Sum(F("credits_pending") - F("debits_pending")),
        )
        for row in rows:
            assert row["posted"] == 0, row
            assert row["pending"] == 0, row

    @invariant()
    def no_actor_account_below_zero(self):
        for a in Account.objects.exclude(kind=Account.Kind.EXTERNAL):
            assert a.available >= 0, a
            assert a.balance >= 0, a

    @invariant()
    def settlements_add_up_and_have_their_api_state(self):
        for s in Settlement.objects.all():
            assert s.remaining >= 0
            assert s.locked == s.released + s.refunded + s.remaining
            assert s.status == api_status(s.locked, s.released, s.refunded)
            self.check_settlement(s)

    @invariant()
    def totals_are_the_fold_of_transfers(self):
        folded = folded_totals()
        for a in Account.objects.all():
            expected = folded.get(a.pk, dict.fromkeys(TOTALS, 0))
            assert {t: getattr(a, t) for t in TOTALS} == expected, a

    @invariant()
    def hourly_totals_are_the_fold_of_transfers(self):
        assert mismatched_accounts() == ([], 0)

    @invariant()
    def balances_match_the_model(self):
        for a in Account.objects.filter(kind=Account.Kind.ACTOR):
            assert (a.available, a.locked) == (
                self.available[a.actor_id, a.currency],
                self.locked[a.actor_id, a.currency],
            ), a


@override_settings(WEB3_CURRENCIES=CURRENCIES)
def test_ledger_invariants_hold_under_random_operations(db):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        ),
    )
