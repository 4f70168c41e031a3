"""Field types shared by the method serializers."""

from rest_framework import serializers

ACTOR_ID_PATTERN = r"^0x[0-9a-f]{40}$"
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
SIGNATURE_PATTERN = r"^0x[0-9a-fA-F]{130}$"


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and other non-strings instead of coercing them."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def actor_id_field(**kwargs) -> serializers.RegexField:
    kwargs.setdefault("help_text", "Actor id: a lowercase 0x-prefixed 40-hex wallet address.")
    return serializers.RegexField(ACTOR_ID_PATTERN, max_length=42, **kwargs)


def limit_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=200, default=50, help_text="Page size (1-200)."
    )


def cursor_field() -> serializers.CharField:
    return serializers.CharField(
        required=False, max_length=200, help_text="`nextCursor` of the previous page."
    )


class StrictRegexField(serializers.RegexField):
    """A RegexField that refuses JSON numbers (money is always a string on the wire)."""

    default_error_messages = {"not_a_string": "Must be a string, e.g. \"12.50\"; JSON numbers are refused."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class KeyedResult(serializers.Serializer):
    """A result keyed by currency code ({"USDC": {...}}) beside any declared fields.

    Subclasses set `child` (the per-key serializer) and may declare ordinary fields; the schema
    extension in web3api.schema documents it as properties + additionalProperties."""

    child: type[serializers.Serializer]

    def to_representation(self, instance):
        declared = super().to_representation({k: v for k, v in instance.items() if k in self.fields})
        keyed = {k: self.child(v).data for k, v in instance.items() if k not in self.fields}
        return {**keyed, **declared}
