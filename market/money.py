"""Currencies and amounts. Integer minor units inside; decimal strings on the wire.

API.md: input matches ^\\d+(\\.\\d{1,S})?$ (S = the currency's scale; JSON numbers are refused),
output always has exactly S decimals, and computed costs round up to the scale. The digits are ASCII
only: Python's `\\d` and `int()` also read "١٢٣" or "５", which no client means as an amount.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache

from django.conf import settings

from market.errors import InvalidArgument

CURRENCY_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
# Every amount is below 10**18 minor units (18 significant digits, whatever the scale): that keeps
# every total well inside a signed 64-bit column, and a schema can say it as a digit count.
MAX_MINOR = 10**18
MAX_AMOUNT_CHARS = 40
_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]+))?", re.ASCII)


@lru_cache(maxsize=8)
def _parse_currencies(spec: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        code, _, scale = item.partition(":")
        code = code.strip().upper()
        if not CURRENCY_CODE.match(code) or not re.fullmatch(r"[0-9]{1,2}", scale.strip()) or int(scale) > 18:
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


def _digits(low: int, high: int) -> str:
    return "" if high == 0 else "[0-9]" + (f"{{{high}}}" if low == high else f"{{{low},{high}}}")


def amount_pattern(scale: int, *, positive: bool) -> str:
    """The regular expression of a wire amount of this scale, read alike by Python's `re` and by
    ECMA-262 (JSON Schema): ASCII digits, at most `scale` decimals, below MAX_MINOR (at most
    18 - scale significant digits before the point, leading zeros aside), and not zero if
    `positive`. parse_amount accepts exactly the strings it matches."""
    whole_digits = len(str(MAX_MINOR)) - 1 - scale
    fraction = f"(?:\\.{_digits(1, scale)})?" if scale else ""
    if not positive:
        whole = f"0*{_digits(1, whole_digits)}" if whole_digits > 0 else "0+"
        return f"^{whole}{fraction}$"
    branches = [f"0*[1-9]{_digits(0, whole_digits - 1)}{fraction}"] if whole_digits > 0 else []
    if scale:
        # nothing but zeros before the point: the first decimal that is not zero is the k-th
        first = "|".join("0" * k + "[1-9]" + _digits(0, scale - 1 - k) for k in range(scale))
        branches.append(f"0+\\.(?:{first})")
    return "^(?:" + "|".join(branches) + ")$"


def parse_amount(text: object, currency: str, *, field: str = "amount", allow_zero: bool = False) -> int:
    """A wire amount ("12.5") as integer minor units; refuses numbers, excess decimals, negatives,
    non-ASCII digits, and amounts of MAX_MINOR minor units or more."""
    scale = scale_of(currency)
    if not isinstance(text, str):
        raise InvalidArgument.field(field, 'must be a decimal string such as "12.50"')
    if len(text) > MAX_AMOUNT_CHARS:
        raise InvalidArgument.field(field, f"must be at most {MAX_AMOUNT_CHARS} characters")
    shape = _AMOUNT.fullmatch(text)
    if shape is None or len(shape[2] or "") > scale:
        raise InvalidArgument.field(field, f"must be a decimal string with at most {scale} decimals")
    minor = int(shape[1]) * 10**scale + int((shape[2] or "").ljust(scale, "0") or "0")
    if minor >= MAX_MINOR:
        raise InvalidArgument.field(field, "is too large")
    if minor == 0 and not allow_zero:
        raise InvalidArgument.field(field, "must be positive")
    return minor


def ceiling_minor(text: object, scale: int, *, field: str = "amount") -> int:
    """A price ceiling ("0.015") as the largest number of minor units of this scale whose amount is
    at or below it, the decimal compared exactly: at scale 2, "0.015" is 1 (0.01), since no amount
    of that scale lies between 0.01 and 0.015. Capped at MAX_MINOR, which is above every amount.
    Refuses what parse_amount refuses of its shape (numbers, signs, non-ASCII digits)."""
    shape = _AMOUNT.fullmatch(text) if isinstance(text, str) and len(text) <= MAX_AMOUNT_CHARS else None
    if shape is None:
        raise InvalidArgument.field(field, 'must be a decimal string such as "12.50"')
    whole, fraction = shape[1].lstrip("0"), (shape[2] or "")[:scale]
    if len(whole) > 18:
        return MAX_MINOR
    return min(int(whole or "0") * 10**scale + int(fraction.ljust(scale, "0") or "0"), MAX_MINOR)


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
