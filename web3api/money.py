"""Money on the wire: decimal strings, checked against the currency's scale."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from market.money import MAX_AMOUNT_CHARS, amount_pattern, currencies
from web3api.serializers import StrictRegexField


def _scales() -> list[int]:
    return sorted(set(currencies().values()))


def _union(patterns: list[str]) -> str:
    if len(patterns) == 1:
        return patterns[0]
    return "^(?:" + "|".join(p[1:-1] for p in patterns) + ")$"


class MoneyField(StrictRegexField):
    """An amount param. Its pattern is the market's rule for amounts (market.money.amount_pattern)
    for any configured scale; `currency` names the sibling param whose currency fixes the scale,
    which the params schema then states per currency (money_rules)."""

    def __init__(self, *, positive: bool = True, currency: str | None = None, **kwargs):
        self.money_positive, self.money_currency = positive, currency
        pattern = _union([amount_pattern(s, positive=positive) for s in _scales()])
        sign = "positive" if positive else "zero or more"
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": (
                    f"must be a {sign} decimal string of ASCII digits, with at most the currency's scale of "
                    "decimals and below 10^18 minor units"
                )
            },
        )
        super().__init__(pattern, max_length=MAX_AMOUNT_CHARS, trim_whitespace=False, **kwargs)


def money_field(help_text: str, *, positive: bool = True, currency: str | None = None, **kwargs) -> MoneyField:
    sign = "positive" if positive else "zero or more"
    return MoneyField(
        positive=positive,
        currency=currency,
        help_text=(
            f"{help_text} A decimal string (never a JSON number) of ASCII digits, {sign}, with at most the currency's "
            "scale S of decimals and below 10^18 minor units (at most 18 - S digits before the point, leading zeros "
            "aside)."
        ),
        **kwargs,
    )


def money_rules(serializer: serializers.Serializer) -> list[dict[str, Any]]:
    """JSON Schema rules tying each amount to its currency's scale, when the configured
    currencies have more than one scale (with one scale the field's own pattern says it all)."""
    scales = currencies()
    if len(set(scales.values())) < 2:
        return []
    rules = []
    for name, field in serializer.fields.items():
        sibling = getattr(field, "money_currency", None)
        if sibling is None:
            continue
        for scale in sorted(set(scales.values())):
            others = sorted(code for code, s in scales.items() if s != scale)
            rules.append(
                {
                    "anyOf": [
                        {"properties": {sibling: {"enum": others}}},
                        {"properties": {name: {"pattern": amount_pattern(scale, positive=field.money_positive)}}},
                    ]
                }
            )
    return rules


def currency_field(**kwargs) -> serializers.ChoiceField:
    kwargs.setdefault("help_text", "Currency code (WEB3_CURRENCIES).")
    return serializers.ChoiceField(choices=sorted(currencies()), **kwargs)
