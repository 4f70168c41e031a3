"""Currencies and amounts. Integer minor units inside; decimal strings on the wire.

API.md: input matches ^\\d+(\\.\\d{1,S})?$ (S = the currency's scale; JSON numbers are refused),
output always has exactly S decimals, and computed costs round up to the scale.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache

from django.conf import settings

from market.errors import InvalidArgument

CURRENCY_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
MAX_MINOR = 2**62  # keeps every total well inside a signed 64-bit column


@lru_cache(maxsize=8)
def _parse_currencies(spec: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        code, _, scale = item.partition(":")
        code = code.strip().upper()
        if not CURRENCY_CODE.match(code) or not scale.strip().isdigit() or int(scale) > 18:
            raise ValueError(f"WEB3_CURRENCIES: bad entry {item!r} (use CODE:scale, e.g. USDC:6)")
        out[code] = int(scale)
    if not out:
        raise ValueError("WEB3_CURRENCIES lists no currency")
    return out


def currencies() -> dict[str, int]:
    """Currency code -> scale (number of decimals), from WEB3_CURRENCIES."""
    return _parse_currencies(settings.WEB3_CURRENCIES)


def scale_of(currency: str, *, field: str = "currency") -> int:
    try:
        return currencies()[currency]
    except KeyError:
        raise InvalidArgument.field(field, f"unknown currency; one of {sorted(currencies())}") from None


def parse_amount(text: object, currency: str, *, field: str = "amount", allow_zero: bool = False) -> int:
    """A wire amount ("12.5") as integer minor units; refuses numbers, excess decimals, negatives."""
    scale = scale_of(currency)
    if not isinstance(text, str):
        raise InvalidArgument.field(field, "must be a decimal string such as \"12.50\"")
    pattern = r"^\d{1,30}$" if scale == 0 else rf"^\d{{1,30}}(\.\d{{1,{scale}}})?$"
    if not re.fullmatch(pattern, text):
        raise InvalidArgument.field(field, f"must be a decimal string with at most {scale} decimals")
    minor = int(Decimal(text).scaleb(scale))
    if minor >= MAX_MINOR:
        raise InvalidArgument.field(field, "is too large")
    if minor == 0 and not allow_zero:
        raise InvalidArgument.field(field, "must be positive")
    return minor


def format_amount(minor: int, currency: str) -> str:
    scale = currencies()[currency]
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    if scale == 0:
        return f"{sign}{minor}"
    whole, frac = divmod(minor, 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}"


def cost_minor(units: int, unit_price_minor: int, per_units: int = 1) -> int:
    """units x price, where the price is per `per_units` units, rounded up to a minor unit."""
    value = Decimal(units) * Decimal(unit_price_minor) / Decimal(per_units)
    return int(value.to_integral_value(rounding=ROUND_CEILING))
