"""Field types shared by the method serializers, and `Params`, the base of every params object.

Params take JSON as it is: a param declared as an integer takes a JSON integer, never the string
"60"; booleans take true and false, strings take strings, lists and objects their own shape, and an
object refuses names it does not declare, at every depth. The GET form of a read-only method, whose
query string has only strings, is converted by the declared types first (`query_params`).

What a field or an object checks beyond its type is also said in its JSON Schema: `json_schema` on
a field or a Params class holds the extra keywords (web3api.schema.ParamsExtension merges them), so
`paramsSchema` and the OpenAPI request bodies state every rule the server checks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar

from django.core.validators import RegexValidator
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

ACTOR_ID_PATTERN = r"^0x[0-9a-f]{40}$"
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
SIGNATURE_PATTERN = r"^0x[0-9a-fA-F]{130}$"
HEX64_PATTERN = r"^[0-9a-f]{64}$"

# What str.strip() removes, which DRF trims before its blank check: as a character class that
# ECMA-262 and Python read alike (ECMA's \s is another set).
WHITESPACE = r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL_PATTERN = r"^[^\u0000]*$"
TEXT_PATTERN = rf"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$"


def string_pattern(field: serializers.CharField) -> str | None:
    """What DRF's CharField refuses besides lengths, as a pattern: NUL anywhere, and (unless blank
    is allowed) a value that is empty once trimmed."""
    if any(isinstance(v, RegexValidator) for v in field.validators):
        return None
    if field.allow_blank or not field.trim_whitespace:
        return NO_NUL_PATTERN
    return TEXT_PATTERN


def with_schema(field: serializers.Field, **keywords: Any) -> serializers.Field:
    """The field, with JSON Schema keywords for what it checks beyond its DRF type (a value of None
    removes a keyword; a callable is evaluated when the schema is built). The keywords live on a
    subclass, since a serializer deep-copies its declared fields by calling their class again."""
    cls = type(field)
    keyed = type(
        cls.__name__,
        (cls,),
        {"json_schema": {**getattr(cls, "json_schema", {}), **keywords}, "__module__": cls.__module__},
    )
    return keyed(*field._args, **field._kwargs)


# --- JSON types -------------------------------------------------------------------------------------
def _json_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "value")


def type_error(field: serializers.Field, value: Any) -> Any:
    """None when `value` has the JSON type `field` declares, else the error detail."""
    if value is None or isinstance(field, serializers.JSONField) or getattr(field, "checks_json_type", False):
        return None  # null: the field's allow_null decides; a strict field says it in its own words
    if isinstance(field, serializers.BooleanField):
        ok, wanted = isinstance(value, bool), "boolean (true or false)"
    elif isinstance(field, serializers.IntegerField):
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
        wanted = "integer"
    elif isinstance(field, serializers.FloatField):
        ok, wanted = isinstance(value, int | float) and not isinstance(value, bool), "number"
    elif isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.DateTimeField
        | serializers.DateField
        | serializers.DecimalField,
    ):
        ok, wanted = isinstance(value, str), "string"
    elif isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return [f"must be a JSON array, not {_json_name(value)}"]
        errors = {i: e for i, v in enumerate(value) if (e := type_error(field.child, v)) is not None}
        return errors or None
    elif isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return [f"must be a JSON object, not {_json_name(value)}"]
        errors = {k: e for k, v in value.items() if (e := type_error(field.child, v)) is not None}
        return errors or None
    elif isinstance(field, serializers.ListSerializer):
        ok, wanted = isinstance(value, list), "array"  # its items check themselves
    elif isinstance(field, serializers.Serializer):
        ok, wanted = isinstance(value, dict), "object"  # its members check themselves
    else:
        return None
    return None if ok else [f"must be a JSON {wanted}, not {_json_name(value)}"]


class LeanFields:
    """A serializer whose per-instance fields are shallow copies of its declared ones where a field
    holds no field of its own. DRF deep-copies every declared field for every instance, which runs
    the field's __init__ again (a money field builds its pattern anew on every call); a leaf field
    keeps no state of a call, so a copy bound to this instance is enough. Fields that hold others
    (lists, dicts, nested objects) are deep-copied as DRF does, so each child is bound to its own."""

    def get_fields(self):
        return {
            name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


def _holds_fields(field: serializers.Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")


class Params(LeanFields, serializers.Serializer):
    """The base of every params serializer and of the objects nested in one."""

    # Extra JSON Schema keywords for the object (cross-field rules), or a callable giving them.
    json_schema: ClassVar[dict[str, Any] | None] = None

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors: dict[str, Any] = {}
            for name in data:
                if name not in self.fields:
                    errors[name] = ["unknown param"]
                elif (error := type_error(self.fields[name], data[name])) is not None:
                    errors[name] = error
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


# --- the GET form ---------------------------------------------------------------------------------
_QUERY_INTEGER = re.compile(r"[+-]?[0-9]{1,30}(?:\.0*)?", re.ASCII)
_QUERY_NUMBER = re.compile(r"[+-]?[0-9]{1,30}(?:\.[0-9]{1,30})?", re.ASCII)


def _from_query(field: serializers.Field, text: str) -> Any:
    if isinstance(field, serializers.BooleanField):
        if text.lower() in field.TRUE_VALUES:
            return True
        if text.lower() in field.FALSE_VALUES:
            return False
    elif isinstance(field, serializers.IntegerField):
        if _QUERY_INTEGER.fullmatch(text.strip()):
            return int(text.strip().split(".")[0])
    elif isinstance(field, serializers.FloatField) and _QUERY_NUMBER.fullmatch(text.strip()):
        return float(text.strip())
    return text  # left as the string it is: the field says what is wrong with it


def query_params(params_class: type[serializers.Serializer], query: dict[str, str]) -> dict[str, Any]:
    """A read-only method's query-string params, converted by the declared field types (?limit=10
    is the integer 10) so that the strict params take them; names the method does not declare are
    kept for the gateway to refuse."""
    fields = params_class().fields
    return {name: _from_query(fields[name], value) if name in fields else value for name, value in query.items()}


# --- fields ---------------------------------------------------------------------------------------
class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and other non-strings instead of coercing them."""

    checks_json_type = True

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FullMatchValidator(RegexValidator):
    """A RegexValidator that matches the whole value: Python's `$` also matches before a final
    newline, ECMA-262's does not."""

    def __call__(self, value):
        if not self.regex.fullmatch(str(value)):
            raise serializers.ValidationError(self.message, code=self.code)


class StrictRegexField(serializers.RegexField):
    """A RegexField that refuses JSON numbers (money is always a string on the wire) and matches
    the whole value, as the schema's pattern does."""

    default_error_messages = {"not_a_string": 'Must be a string, e.g. "12.50"; JSON numbers are refused.'}
    checks_json_type = True

    def __init__(self, regex, **kwargs):
        super().__init__(regex, **kwargs)
        self.validators = [
            FullMatchValidator(v.regex, message=self.error_messages["invalid"]) if isinstance(v, RegexValidator) else v
            for v in self.validators
        ]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictDateTimeField(serializers.DateTimeField):
    """An RFC 3339 date-time, as JSON Schema's `format: date-time` means it: `T` and `Z` in either
    case, a leap second (:60) read as the next second, and a time beyond the first or last
    representable instant (year 1 or 9999 with an offset) taken as that instant."""

    _LEAP = re.compile(r"(T[0-9]{2}:[0-9]{2}:)60", re.ASCII)
    checks_json_type = True

    def to_internal_value(self, value):
        if not isinstance(value, str) or not value.isascii():
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss[.ffffff](Z|+hh:mm)")
        text = value.strip()
        text = text[:10] + text[10:].upper()
        leap = self._LEAP.search(text)
        if leap:
            text = self._LEAP.sub(r"\g<1>59", text, count=1)
        try:
            parsed = super().to_internal_value(text)
        except serializers.ValidationError as exc:
            # Only a time past the ends is read again: parse_datetime raises ValueError on one of
            # the right shape that is no instant ("12:99"), which was a 500.
            if exc.get_codes() != ["overflow"]:
                raise
            local = parse_datetime(text)
            if local is None:
                raise
            return datetime.min.replace(tzinfo=UTC) if local.year < 5000 else datetime.max.replace(tzinfo=UTC)
        if leap and parsed < datetime.max.replace(tzinfo=UTC) - timedelta(seconds=1):
            parsed += timedelta(seconds=1)
        return parsed


class StrictDecimalField(serializers.DecimalField):
    """A decimal that is a JSON number (rounded to `decimal_places`) or a decimal string of ASCII
    digits with at most `decimal_places` decimals; both within max_digits."""

    checks_json_type = True

    def __init__(self, max_digits: int, decimal_places: int, **kwargs):
        super().__init__(max_digits, decimal_places, rounding=ROUND_HALF_EVEN, **kwargs)
        whole = max_digits - decimal_places
        self.text_pattern = rf"^-?[0-9]{{1,{whole}}}(?:\.[0-9]{{1,{decimal_places}}})?$"
        bound = 10**whole - 1
        self.json_schema = {
            "type": None,
            "format": None,
            "pattern": None,
            "anyOf": [
                {"type": "number", "minimum": -bound, "maximum": bound},
                {"type": "string", "pattern": self.text_pattern},
            ],
        }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        if isinstance(data, str):
            if not re.fullmatch(self.text_pattern, data):
                self.fail("invalid")
            return super().to_internal_value(data)
        value = Decimal(repr(data)) if isinstance(data, float) else Decimal(data)
        if not value.is_finite() or abs(value) >= 10 ** (self.max_digits - self.decimal_places):
            self.fail("max_whole_digits", max_whole_digits=self.max_digits - self.decimal_places)
        return value.quantize(Decimal(1).scaleb(-self.decimal_places), rounding=ROUND_HALF_EVEN)


def actor_id_field(**kwargs) -> serializers.RegexField:
    kwargs.setdefault("help_text", "Actor id: a lowercase 0x-prefixed 40-hex wallet address.")
    return serializers.RegexField(ACTOR_ID_PATTERN, max_length=42, **kwargs)


def id_field(what: str, **kwargs) -> serializers.CharField:
    """The id of an object; one that does not exist, or that the caller may not see, is E_NOT_FOUND."""
    kwargs.setdefault("help_text", f"Id of the {what}.")
    kwargs["help_text"] += " An id the market issued; any other is E_NOT_FOUND."
    return serializers.CharField(max_length=40, **kwargs)


def limit_field() -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=200, default=50, help_text="Page size (1-200).")


def cursor_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        max_length=200,
        help_text="`nextCursor` of the previous page: opaque, so only a cursor this list returned is one "
        "(any other is E_INVALID_ARGUMENT).",
    )


class KeyedResult(serializers.Serializer):
    """A result keyed by currency code ({"USDC": {...}}) beside any declared fields.

    Subclasses set `child` (the per-key serializer) and may declare ordinary fields; the schema
    extension in web3api.schema documents it as properties + additionalProperties."""

    child: type[serializers.Serializer]

    def to_representation(self, instance):
        declared = super().to_representation({k: v for k, v in instance.items() if k in self.fields})
        keyed = {k: self.child(v).data for k, v in instance.items() if k not in self.fields}
        return {**keyed, **declared}
