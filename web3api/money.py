"""Money on the wire: decimal strings, checked against the currency's scale, turned into integer
minor units at the edge (the params serializer, or the method when the currency is an object's),
and minor units shown as decimal strings with exactly the currency's scale (AmountOut)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import fields, serializers

from market.errors import InvalidArgument
from market.money import MAX_AMOUNT_CHARS, amount_pattern, ceiling_minor, currencies, format_amount, parse_amount
from web3api.serializers import StrictRegexField

AMOUNT_OUT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _scales() -> list[int]:
    return sorted(set(currencies().values()))


def _union(patterns: list[str]) -> str:
    if len(patterns) == 1:
        return patterns[0]
    return "^(?:" + "|".join(p[1:-1] for p in patterns) + ")$"


class MoneyField(StrictRegexField):
    """An amount param. Its pattern is the market's rule for amounts (market.money.amount_pattern)
    for any configured scale; `currency` names the sibling param whose currency fixes the scale,
    which the params schema then states per currency (money_rules).

    With `currency`, the params serializer's `validate` turns the amount into integer minor units
    (amounts_to_minor); without it (the currency is an object's, e.g. a resource's), the method turns
    the decimal string into minor units with market.money.parse_amount once it knows the currency.
    Either way services take integers only."""

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


def amounts_to_minor(serializer: serializers.Serializer, attrs: dict[str, Any]) -> dict[str, Any]:
    """The validated params with every amount whose currency is a sibling param as minor units
    (call it from the params serializer's `validate`). A refusal is DRF's, so that an amount in a
    nested params object is named by its whole path (pricing.unitPrice)."""
    out = dict(attrs)
    for name, field in serializer.fields.items():
        sibling = getattr(field, "money_currency", None)
        if sibling is None or name not in out or sibling not in out:
            continue
        try:
            out[name] = parse_amount(out[name], out[sibling], field=name, allow_zero=not field.money_positive)
        except InvalidArgument as exc:
            raise serializers.ValidationError(exc.details["fields"]) from None
    return out


def price_ceilings(text: str, currency: str | None, *, field: str) -> dict[str, int]:
    """A price ceiling as minor units by currency: in `currency` when one is given, else in every
    currency, each in its own scale (market.money.ceiling_minor: "0.015" is 0.01 at scale 2)."""
    if currency:
        return {currency: parse_amount(text, currency, field=field, allow_zero=True)}
    return {code: ceiling_minor(text, scale, field=field) for code, scale in currencies().items()}


@extend_schema_field(
    {
        "type": "string",
        "pattern": AMOUNT_OUT_PATTERN,
        "description": 'A decimal string with exactly the currency\'s scale of decimals, e.g. "12.500000" for USDC.',
    }
)
class AmountOut(serializers.Field):
    """An amount in the output: minor units (the attribute named by `source`) as a decimal string
    with exactly the scale of the currency named by `currency` (an attribute path on the same
    object, default `currency`)."""

    def __init__(self, *, currency: str = "currency", **kwargs):
        self.currency_path = currency.split(".")
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        currency = fields.get_attribute(instance, self.currency_path)
        return super().get_attribute(instance), currency

    def to_representation(self, value):
        amount, currency = value
        return None if amount is None else format_amount(amount, currency)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "pattern": AMOUNT_OUT_PATTERN},
        "description": "Keyed by currency code; each amount a decimal string with exactly that currency's scale.",
    }
)
class AmountsByCurrencyOut(serializers.Field):
    """Amounts keyed by their currency ({currency: minor units}), each shown with its currency's
    scale."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return {currency: format_amount(minor, currency) for currency, minor in value.items()}


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
