"""schemathesis hooks for scripts/schemathesis: real SIWE sign-in as the wallet in
SCHEMATHESIS_WALLET_KEY against the market at SCHEMATHESIS_BASE.

Every operation gets one bearer token, signed in once and reused. web3.identity.logout revokes the
token it is called with, so each of its cases signs in afresh: the other operations keep theirs.

One check replaces schemathesis's positive_data_acceptance (switched off in the config, whose
expected statuses it still reads): positive_data_acceptance_or_param_rule runs that very check and
accepts its one failure, a refusal of schema-valid data, only when the answer is E_INVALID_ARGUMENT
whose details.fields name nothing but params with a rule no schema can state: the method's
paramRules, which scripts/schemathesis_run.py reads from the registry (SCHEMATHESIS_PARAM_RULES).
Any other refusal, and every other check, fail as schemathesis says.

A list's `cursor` is opaque: a client only ever sends back a `nextCursor` a list gave it, and any
other string is refused. A schema-valid case therefore carries one of the real cursors in
SCHEMATHESIS_CURSORS (the fuzzing phase draws them from a dictionary; this covers the coverage
phase's boundary values too). Schema-violating cases keep what was generated.
"""

from __future__ import annotations

import json
import os
import random

import httpx
import schemathesis
from eth_account import Account
from eth_account.messages import encode_defunct
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

LOGOUT = "web3.identity.logout"
CURSORS = json.loads(os.environ.get("SCHEMATHESIS_CURSORS") or "[]")
# method name -> {param (dotted inside a nested object) -> why no schema can state its rule}
PARAM_RULES: dict[str, dict[str, str]] = json.loads(os.environ.get("SCHEMATHESIS_PARAM_RULES") or "{}")


def sign_in() -> str:
    wallet = Account.from_key(os.environ["SCHEMATHESIS_WALLET_KEY"])
    with httpx.Client(base_url=os.environ["SCHEMATHESIS_BASE"] + "/api/v1/", timeout=30) as http:
        challenge = http.post("web3.siwe.challenge", json={"address": wallet.address}).json()["result"]
        signature = wallet.sign_message(encode_defunct(text=challenge["message"])).signature.hex()
        verified = http.post(
            "web3.siwe.verify",
            json={"message": challenge["message"], "signature": "0x" + signature.removeprefix("0x")},
        ).json()
    return verified["result"]["token"]


class _Bearer:
    def get(self, case, context):
        return sign_in()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# Registered first: the first provider that applies wins.
@schemathesis.auth(refresh_interval=None).apply_to(operation_id=LOGOUT)
class FreshTokenForLogout(_Bearer):
    pass


@schemathesis.auth(refresh_interval=3600).skip_for(operation_id=LOGOUT)
class SharedToken(_Bearer):
    pass


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if not CURSORS or meta is None:
        return case
    for location, container in ((ParameterLocation.BODY, case.body), (ParameterLocation.QUERY, case.query)):
        if isinstance(container, dict) and "cursor" in container and not meta.is_negative_at(location):
            container["cursor"] = random.choice(CURSORS)  # noqa: S311 - test data
            meta.mark_dirty(location)
    return case


def refused_for_param_rules(case, response) -> bool:
    """True when the market answered E_INVALID_ARGUMENT naming only params of the method's paramRules."""
    if response.status_code != 400:
        return False
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    fields = (error.get("details") or {}).get("fields") if isinstance(error, dict) else None
    rules = PARAM_RULES.get(case.operation.path.rsplit("/", 1)[-1], {})
    return (
        error.get("code") == "E_INVALID_ARGUMENT"
        and isinstance(fields, dict)
        and bool(fields)
        and all(name in rules for name in fields)
    )


@schemathesis.check
def positive_data_acceptance_or_param_rule(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if refused_for_param_rules(case, response):
            return None
        raise
