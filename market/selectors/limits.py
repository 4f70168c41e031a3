"""The market-wide limits as they apply now: what staff set, else the environment's default.

Lowering a limit applies at once to every agent token: a token's effective cap is the lower of its
own policy's and the market's, computed where the cap is checked (sessionCap when a session opens or
is approved, dailyCap at every spend and in the guard), so a token whose stored policy asks for more
than the new limit spends within the limit, and a token without a cap of its own gets the market's.
Money already locked in an open session stays its budget. The guard reads the row inside its one
statement (market.selectors.sessions), so it costs no second round trip and is never stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from market.models import MarketLimits
from market.models.limits import LIMITS_ROW

# policy field -> (column, the setting holding its default)
LIMITS = {
    "sessionCap": ("max_session_cap", "WEB3_AGENT_MAX_SESSION_CAP"),
    "dailyCap": ("max_daily_cap", "WEB3_AGENT_MAX_DAILY_CAP"),
}


@dataclass(frozen=True)
class LimitsView:
    values: dict[str, str]  # policy field -> the limit in force, a decimal string
    defaults: dict[str, str]  # policy field -> the environment's default
    updated_by: str
    updated_at: datetime | None

    def is_default(self, name: str) -> bool:
        return self.values[name] == self.defaults[name]


def limit_defaults() -> dict[str, str]:
    return {name: getattr(settings, setting) for name, (_, setting) in LIMITS.items()}


def limit_or_default(name: str, stored: str | None) -> str:
    return stored if stored is not None else getattr(settings, LIMITS[name][1])


def limits_view() -> LimitsView:
    row = MarketLimits.objects.filter(pk=LIMITS_ROW).first()
    values = {name: limit_or_default(name, getattr(row, column, None)) for name, (column, _) in LIMITS.items()}
    return LimitsView(
        values=values,
        defaults=limit_defaults(),
        updated_by=row.updated_by if row else "",
        updated_at=row.updated_at if row else None,
    )


def limits_current() -> dict[str, str]:
    """The limits in force, by policy field (one small read by primary key)."""
    return limits_view().values
