"""Output fields the shapes share beyond DRF's own (and web3api.money.AmountOut for amounts)."""

from __future__ import annotations

from rest_framework import serializers


class IsSet(serializers.BooleanField):
    """True when the attribute `source` names is set (not None, not blank): `signed` from a
    signature, `paidOut` from the payout time. DRF would show an unset attribute as null."""

    def get_attribute(self, instance):
        return bool(super().get_attribute(instance))


class BlankAsNull(serializers.CharField):
    """A text attribute that is null on the wire while it is blank (a column stored as "")."""

    def __init__(self, **kwargs):
        kwargs["allow_null"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or None
