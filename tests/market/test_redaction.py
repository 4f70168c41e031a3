"""market.redaction: what it takes out of a JSON document before the market stores it (hook payloads,
archive uploads), as properties over arbitrary documents with secrets planted anywhere."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.canonical import canonical
from market.errors import InvalidArgument
from market.redaction import REDACTED, parse_canonical, redact_json, redact_text, secrets_in_json, secrets_in_text

# Text that holds no secret: letters, digits, spaces and sentence punctuation (no '/', ':' or '-').
PLAIN = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 ,.!?"), max_size=20)
SAFE_KEYS = st.sampled_from(["model", "messages", "role", "content", "tool", "args", "n", "result", "q"])
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | PLAIN,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SAFE_KEYS, inner, max_size=4),
    max_leaves=20,
)

CANARY_KEY = "sk-canary" + "Q7x9Lm2Pz4Rt8Wv1"
SECRETS = [
    CANARY_KEY,
    "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0",
    "0x" + "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d",
    "ghp_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "/home/alice/.ssh/id_ed25519",
    "/etc/openclaw/secrets.env",
    "C:\\Users\\alice\\wallet.json",
    "~/.config/openclaw/token",
]
# Secrets inside a larger string: the marker replaces only the secret part.
WRAPPED = [
    ("Authorization: Bearer " + "tok3nV4lue.abc", "tok3nV4lue.abc"),
    ("authorization=" + "Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("fetch https://bob:" + "hunter2" + "@db.example.com/x", "hunter2"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg" + "kqhkiG9w0B\n-----END PRIVATE KEY-----", "kqhkiG9w0B"),
    ("open file:///var/lib/openclaw/db now", "/var/lib/openclaw"),
]


def _plant(doc, secret: str, where: int):
    """`doc` with `secret` put in it: as a value, inside a sentence, as a key, or in a list."""
    holder = {"doc": doc}
    if where == 0:
        holder["note"] = secret
    elif where == 1:
        holder["note"] = f"see {secret} for details"
    elif where == 2:
        holder[secret] = doc
    else:
        holder["list"] = [doc, {"deep": [f"({secret})"]}]
    return holder


@settings(max_examples=200, deadline=None)
@given(doc=JSON, secret=st.sampled_from(SECRETS + [w[0] for w in WRAPPED]), where=st.integers(0, 3))
def test_no_planted_secret_survives_anywhere_in_the_document(doc, secret, where):
    # given
    planted = _plant(doc, secret, where)
    # when
    out = redact_json(planted)
    # then
    assert secret.encode() not in out.content
    assert out.count >= 1
    for whole, inner in WRAPPED:
        if secret == whole:
            assert inner.encode() not in out.content


@settings(max_examples=200, deadline=None)
@given(doc=JSON)
def test_a_document_without_secrets_is_its_canonical_json_unchanged(doc):
    # when
    out = redact_json(doc)
    # then
    assert out.content == canonical(doc)
    assert out.count == 0
    assert not secrets_in_json(doc)


@settings(max_examples=200, deadline=None)
@given(doc=JSON, secret=st.sampled_from(SECRETS), where=st.integers(0, 3))
def test_redaction_is_canonical_and_idempotent(doc, secret, where):
    # given
    once = redact_json(_plant(doc, secret, where))
    # when
    twice = redact_json(parse_canonical(once.content))
    # then
    assert twice.content == once.content
    assert twice.count == 0
    assert canonical(parse_canonical(once.content)) == once.content


@pytest.mark.parametrize(
    "key",
    ["Authorization", "proxy-authorization", "apiKey", "OPENAI_API_KEY", "x-api-key", "refresh_token", "password"],
)
def test_a_secret_key_hides_its_whole_value_of_any_type(key):
    # when
    out = redact_json({key: {"nested": ["anything", 1]}, "max_tokens": 64, "total_tokens": 3})
    # then
    assert json.loads(out.content) == {key: REDACTED, "max_tokens": 64, "total_tokens": 3}
    assert out.found["key"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "ratio 1/2 and/or w/ care",
        "https://example.com/a/b?q=1",
        "tasks task-abcdefghijklmnop",
        "hash 0x" + "ab" * 20,
        "sha256 " + "ab" * 32,
        "/help",
    ],
)
def test_ordinary_text_is_left_as_it_is(text):
    assert redact_text(text) == text
    assert not secrets_in_text(text)


def test_the_markers_say_what_kind_was_taken_out():
    # when
    text = redact_text("Authorization: Bearer abc and sk-" + "x" * 20 + " in /srv/app/.env")
    # then
    assert text == "Authorization: [redacted:authorization]"
    assert redact_text("use sk-" + "x" * 20 + " in /srv/app/.env") == ("use [redacted:api_key] in [redacted:file_path]")
    assert redact_text("see https://u:p@host/x") == "see https://[redacted:url_credentials]@host/x"


def test_keys_and_patterns_are_configurable(settings):
    # given
    settings.WEB3_REDACT_KEYS = ["employee_number"]
    settings.WEB3_REDACT_PATTERNS = {"ticket": r"TICKET-[0-9]{4}"}
    # when
    out = json.loads(redact_json({"employeeNumber": 7, "note": "see TICKET-1234"}).content)
    # then
    assert out == {"employeeNumber": REDACTED, "note": "see [redacted:ticket]"}


@pytest.mark.parametrize("number", [-3.488984178399659e16, 1e300, 2.0**53, 0.1, -0.0])
def test_a_float_canonicalises_to_the_same_text_once_redacted(number):
    # when
    out = redact_json({"n": number, "note": "sk-" + "y" * 20})
    # then
    assert out.content == canonical({"n": number, "note": "[redacted:api_key]"})


def test_what_rfc_8785_cannot_represent_is_refused_naming_the_field():
    with pytest.raises(InvalidArgument) as refused:
        redact_json({"n": 2**60}, field="events.0.payload")
    assert refused.value.details == {"fields": {"events.0.payload": "not representable as RFC 8785 canonical JSON"}}


# Text made of the pieces the patterns look for, to find where one match hides or uncovers another.
TRICKY = st.lists(
    st.sampled_from(
        [*"abz09 :=/\\~@.-_\n\"'[]", "sk-", "Authorization: ", "Bearer ", "://", "/home/", "C:\\", "0x", "file:", "eyJ"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=TRICKY)
def test_redacting_any_text_twice_changes_nothing_more(text):
    once = redact_text(text)
    assert redact_text(once) == once
    assert not secrets_in_text(once)


@settings(max_examples=500, deadline=None)
@given(before=TRICKY, secret=st.sampled_from(SECRETS + [w[0] for w in WRAPPED]), after=TRICKY)
def test_a_secret_between_words_of_any_text_is_taken_out(before, secret, after):
    out = redact_text(f"{before} {secret} {after}")
    assert dict(WRAPPED).get(secret, secret) not in out
