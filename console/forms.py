"""Form pieces every console form shares: money fields in the currency's scale, and the mapping
of a market refusal (its `details.fields`, named as the API names params) onto form fields."""

from __future__ import annotations

from django import forms

from market.errors import MarketError
from market.money import parse_amount


class MoneyField(forms.CharField):
    """A decimal amount as typed ("12.50"); the form turns it into minor units with its currency."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("autocomplete", "off")


class MarketForm(forms.Form):
    """A form whose fields may carry the API's param names in `api_names` (param -> field)."""

    api_names: dict[str, str] = {}

    def amount_minor(self, field: str, currency: str, *, allow_zero: bool = True) -> int | None:
        text = self.cleaned_data.get(field)
        if text in (None, ""):
            return None
        return parse_amount(text, currency, field=field, allow_zero=allow_zero)


def apply_market_error(form: forms.Form, exc: MarketError) -> None:
    """Put a market refusal on the form: each of `details.fields` on its field (by the API's param
    name, mapped through the form's `api_names`), anything else as a form-wide message."""
    names = getattr(form, "api_names", {})
    fields = (exc.details or {}).get("fields") or {}
    placed = False
    for param, message in fields.items():
        target = names.get(param, param)
        if target in form.fields:
            form.add_error(target, str(message))
            placed = True
    if not placed:
        form.add_error(None, exc.message)
