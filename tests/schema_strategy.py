"""Hypothesis strategies for the values a JSON Schema allows, for the schema-fidelity test.

hypothesis-jsonschema 0.23.1 does not run with the pinned hypothesis (its object strategy uses
internals hypothesis no longer has), so this covers the keywords the market's schemas use: type
(one or a list), enum, const, string (pattern, minLength, maxLength, format date-time and uri),
integer and number bounds, array (items, minItems, maxItems), object (properties, required,
additionalProperties) and the combinators allOf, anyOf, oneOf and not. A combinator on an object
picks one branch and merges its `required` and `properties` into the object; every value drawn is
then checked against the whole schema by `jsonschema`, so anything merged wrongly is filtered out,
never sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema
from hypothesis import strategies as st

TEXT = st.characters(codec="utf-8")  # what JSON text can carry: no lone surrogates
MAX_TEXT = 300  # longer strings add run time, not cases; longer maxLength bounds are drawn now and then


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    validator = jsonschema.Draft202012Validator(schema)
    return _value(schema).filter(validator.is_valid)


def _merge(base: dict[str, Any], branch: dict[str, Any]) -> dict[str, Any]:
    """allOf of two schemas, as far as generation needs it (the validator has the last word)."""
    out = {**base}
    for key, value in branch.items():
        if key == "required":
            out["required"] = sorted({*base.get("required", []), *value})
        elif key == "properties":
            props = dict(base.get("properties", {}))
            for name, sub in value.items():
                props[name] = _merge(props.get(name, {}), sub)
            out["properties"] = props
        elif key == "not":
            out["nots"] = [*base.get("nots", []), value]
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [*base.get(key, []), *value] if key == "allOf" else value
        else:
            out[key] = value
    return out


def _value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if schema is True or schema == {}:
        return _json()
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for sub in schema["allOf"]:
            merged = _merge(merged, sub)
        return _value(merged)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            rest = {k: v for k, v in schema.items() if k != key}
            return st.one_of([_value(_merge(rest, branch)) for branch in schema[key]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type")
    if isinstance(types, list):
        return st.one_of([_value({**schema, "type": t}) for t in types])
    if types is None and "properties" in schema:
        types = "object"
    strategies = {
        "string": _string,
        "integer": _integer,
        "number": _number,
        "boolean": lambda s: st.booleans(),
        "null": lambda s: st.none(),
        "array": _array,
        "object": _object,
    }
    if types is None:
        return _json()
    return strategies[types](schema)


def _json() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(TEXT, max_size=20)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=10), inner, max_size=3),
        max_leaves=6,
    )


def _datetimes() -> st.SearchStrategy[str]:
    """RFC 3339 date-times: any year, fraction and offset, `T`/`Z` in either case."""
    offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
    moment = st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=st.just(UTC) | offsets
    )

    def text(value: datetime, spec: str) -> str:
        out = value.isoformat(timespec=spec)
        if value.utcoffset() == timedelta(0) and out.endswith("+00:00"):
            out = out[:-6] + "Z"
        return out

    shaped = st.builds(text, moment, st.sampled_from(["seconds", "milliseconds", "microseconds"]))
    return st.one_of(shaped, shaped.map(str.lower))


def _uris() -> st.SearchStrategy[str]:
    host = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){0,2}", fullmatch=True)
    port = st.none() | st.integers(1, 65535)
    path = st.from_regex(r"(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){0,3}(\?[A-Za-z0-9=&%_.-]{0,20})?", fullmatch=True)
    return st.builds(
        lambda scheme, h, p, rest: f"{scheme}://{h}{'' if p is None else f':{p}'}{rest}",
        st.sampled_from(["http", "https"]),
        host,
        port,
        path,
    )


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    fmt = schema.get("format")
    if fmt == "date-time":
        base = _datetimes()
    elif fmt == "uri":
        base = _uris()
    elif "pattern" in schema:
        base = st.from_regex(schema["pattern"], fullmatch=True, alphabet=TEXT)
    else:
        cap = MAX_TEXT if high is None else min(high, MAX_TEXT)
        base = st.text(TEXT, min_size=low, max_size=max(cap, low))
        if high is not None and high > MAX_TEXT:
            base = base | st.text(TEXT, min_size=max(low, high - 2), max_size=high)
    if "pattern" in schema and fmt in ("date-time", "uri"):
        base = base.filter(re.compile(schema["pattern"]).search)
    return base.filter(lambda s: low <= len(s) <= (high if high is not None else len(s)))


def _bounds(schema: dict[str, Any]) -> tuple[Any, Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"]
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"]
    return low, high


def _integer(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    low, high = _bounds(schema)
    low = -(2**63) if low is None else int(low)
    high = 2**63 if high is None else int(high)
    edges = st.sampled_from([low, high, max(low, min(high, 0)), max(low, min(high, 1))])
    return st.one_of(edges, st.integers(low, high))


def _number(schema: dict[str, Any]) -> st.SearchStrategy[float]:
    low, high = _bounds(schema)
    whole = st.integers(-(2**53) if low is None else int(low), 2**53 if high is None else int(high))
    return (
        st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False).map(
            lambda x: 0.0 if x == 0 else x
        )
        | whole
    )


def _array(schema: dict[str, Any]) -> st.SearchStrategy[list]:
    items = schema.get("items", {})
    return st.lists(
        _value(items),
        min_size=schema.get("minItems", 0),
        max_size=min(schema.get("maxItems", 5), 5 + schema.get("minItems", 0)),
    )


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict]:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    banned = {name for n in schema.get("nots", []) for name in n.get("required", [])[:1]}
    optional = sorted(set(props) - required - banned)

    @st.composite
    def draw_object(draw):
        out = {name: draw(_value(props.get(name, {}))) for name in sorted(required)}
        for name in optional:
            if draw(st.booleans()):
                out[name] = draw(_value(props[name]))
        extra = schema.get("additionalProperties", True)
        if extra is not False and not props:
            out.update(
                draw(
                    st.dictionaries(st.text(TEXT, max_size=10), _json() if extra is True else _value(extra), max_size=3)
                )
            )
        return out

    return draw_object()
