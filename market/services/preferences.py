"""What an actor sets for itself (no money moves): the low-balance threshold of its dashboard."""

from __future__ import annotations

from django.db import transaction

from market.audit.log import audit_record
from market.errors import InvalidArgument
from market.models import BalanceThreshold
from market.money import format_amount, scale_of


def threshold_set(*, actor_id: str, currency: str, amount: int | None) -> BalanceThreshold | None:
    """Set (or, with None, clear) the balance below which the actor's dashboard warns it."""
    scale_of(currency)
    if amount is not None and amount < 0:
        raise InvalidArgument.field("amount", "must be zero or more")
    with transaction.atomic():
        if amount is None:
            BalanceThreshold.objects.filter(actor_id=actor_id, currency=currency).delete()
            row = None
        else:
            row, _ = BalanceThreshold.objects.update_or_create(
                actor_id=actor_id, currency=currency, defaults={"amount": amount}
            )
        audit_record(
            actor_id=actor_id,
            action="threshold.set",
            object_type="actor",
            object_id=actor_id,
            payload={"currency": currency, "amount": None if amount is None else format_amount(amount, currency)},
            parties=[actor_id],
        )
        return row
