"""A params object turns an amount whose currency is a sibling param into minor units, and a
refusal names the amount by its whole path, at any depth (issue 12, item 4)."""

from __future__ import annotations

from django.test import override_settings

from web3api.errors import validation_fields
from web3api.money import amounts_to_minor, currency_field, money_field
from web3api.serializers import Params


def _pricing_params() -> type[Params]:
    """A pricing object nested in a params object, declared while CENT (scale 2) is configured."""

    class Pricing(Params):
        unitPrice = money_field("The price.", positive=False, currency="currency")
        currency = currency_field()

        def validate(self, attrs):
            return amounts_to_minor(self, attrs)

    class Publish(Params):
        pricing = Pricing()

    return Publish


@override_settings(WEB3_CURRENCIES="USDC:6,CENT:2")
def test_a_nested_amount_is_read_in_its_currency_and_refused_by_its_whole_path():
    publish = _pricing_params()
    # when the price is in CENT: "0.5" is 50 minor units, and the same text is 500000 in USDC
    ok = publish(data={"pricing": {"unitPrice": "0.5", "currency": "CENT"}})
    usdc = publish(data={"pricing": {"unitPrice": "0.5", "currency": "USDC"}})
    assert ok.is_valid() and usdc.is_valid()
    assert (ok.validated_data["pricing"]["unitPrice"], usdc.validated_data["pricing"]["unitPrice"]) == (50, 500_000)
    # when it has more decimals than CENT has (the field's pattern takes any configured scale)
    refused = publish(data={"pricing": {"unitPrice": "0.001", "currency": "CENT"}})
    # then it is refused, named pricing.unitPrice
    assert not refused.is_valid()
    assert validation_fields(refused.errors) == {
        "pricing.unitPrice": "must be a decimal string with at most 2 decimals"
    }
