"""Money on the wire: decimal strings, checked against the currency's scale."""

from __future__ import annotations

from rest_framework import serializers

from market.money import currencies
from web3api.serializers import StrictRegexField


def _max_scale() -> int:
    return max(currencies().values())


def money_field(help_text: str, **kwargs) -> StrictRegexField:
    scale = _max_scale()
    pattern = r"^\d+$" if scale == 0 else rf"^\d+(\.\d{{1,{scale}}})?$"
    return StrictRegexField(
        pattern, max_length=40, trim_whitespace=False,
        help_text=help_text + " A decimal string (never a JSON number) with at most the currency's scale "
        "of decimals.",
        **kwargs,
    )


def currency_field(**kwargs) -> serializers.ChoiceField:
    kwargs.setdefault("help_text", "Currency code (WEB3_CURRENCIES).")
    return serializers.ChoiceField(choices=sorted(currencies()), **kwargs)
