"""Staff set the market-wide limits (market.selectors.limits says how they apply); every change is
an audit event with the limits before and after."""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import transaction

from market.audit.log import audit_record
from market.errors import InvalidArgument
from market.models import MarketLimits
from market.models.limits import LIMITS_ROW
from market.selectors.limits import LIMITS, LimitsView, limits_view

UNSET = object()


_DECIMAL = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?", re.ASCII)


def _limit_text(name: str, value: str) -> str:
    """The limit as stored: a positive decimal string of ASCII digits, without needless zeros."""
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise InvalidArgument.field(name, 'must be a decimal string such as "1000" or "12.5"')
    if Decimal(value) <= 0:
        raise InvalidArgument.field(name, "must be positive")
    return format(Decimal(value).normalize(), "f")


def limits_set(*, by_actor_id: str, changes: dict[str, str | None]) -> LimitsView:
    """Set some limits (a policy field name -> a decimal string, or None: back to the default).
    Unknown names are E_INVALID_ARGUMENT; the audit event names who changed what."""
    unknown = sorted(set(changes) - set(LIMITS))
    if unknown:
        raise InvalidArgument.field(unknown[0], "no such limit")
    cleaned = {name: None if value is None else _limit_text(name, value) for name, value in changes.items()}
    with transaction.atomic():
        before = limits_view()
        row = MarketLimits.objects.select_for_update().filter(pk=LIMITS_ROW).first() or MarketLimits(pk=LIMITS_ROW)
        for name, value in cleaned.items():
            setattr(row, LIMITS[name][0], value)
        row.updated_by = by_actor_id
        row.save()
        after = limits_view()
        audit_record(
            actor_id=by_actor_id,
            action="market_limits.set",
            object_type="market_limits",
            object_id="market",
            payload={"before": before.values, "after": after.values, "defaults": after.defaults},
        )
        return after
