"""No schema lies: params built only from a method's own `paramsSchema` (tests/schema_strategy.py)
and sent through the gateway by a funded staff arbitrator are refused with E_INVALID_ARGUMENT only
for a rule no JSON Schema can state: one of the `paramRules` describe shows for the method (declared
on its @method as `unexpressible`, the generic cursor and signature rules added by the registry).
A read-only method answers its GET form as it answers POST, and no schema-valid call is a crash
(E_INTERNAL).

Run with `-n 0 -s` to see the tally: calls made, E_INVALID_ARGUMENT answers, undocumented ones."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import Api, clear_cache
from tests.schema_strategy import from_schema
from tests.task_support import Flow, fund
from web3api import registry

pytestmark = pytest.mark.django_db

EXAMPLES = 25
# Registered only under the test settings, to test the gateway itself: not part of the market.
TEST_ONLY = {"web3.test.increment", "web3.test.peek"}
METHODS = [m.name for m in registry.all_methods() if m.name not in TEST_ONLY]

# Params whose values are ids of objects: some examples take the id of a real one, so that the call
# gets past E_NOT_FOUND to the rules behind it.
ID_PARAMS = {
    "taskId": "tasks",
    "bidId": "bids",
    "resultId": "results",
    "resourceId": "resources",
    "leaseId": "leases",
    "disputeId": "disputes",
    "settlementId": "settlements",
    "eventId": "events",
    "objectId": "objects",
    "actorId": "actors",
    "creatorActorId": "actors",
    "providerActorId": "actors",
}


@dataclass
class Tally:
    calls: int = 0
    invalid: int = 0
    documented: Counter = field(default_factory=Counter)
    undocumented: Counter = field(default_factory=Counter)
    crashes: list = field(default_factory=list)
    mismatches: list = field(default_factory=list)
    examples: dict = field(default_factory=dict)


TALLIES: dict[str, Tally] = {}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    calls = sum(t.calls for t in TALLIES.values())
    invalid = sum(t.invalid for t in TALLIES.values())
    lies = sum(sum(t.undocumented.values()) for t in TALLIES.values())
    if calls:
        print(
            f"\nschema fidelity: {len(TALLIES)} methods, {calls} schema-valid calls; E_INVALID_ARGUMENT "
            f"{invalid} ({100 * invalid / calls:.1f}%), of which undocumented {lies} ({100 * lies / calls:.1f}%)"
        )
        by_rule = Counter(f"{name} {field}" for name, t in TALLIES.items() for field in t.documented.elements())
        print("  documented:", ", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items())))
        for name, t in sorted(TALLIES.items()):
            if t.undocumented:
                print(f"  undocumented {name}: {dict(t.undocumented)}")


@pytest.fixture
def world(sign_in):
    """A funded staff arbitrator (the caller) and one object of each kind for ids to point at: the
    caller's own resource and task, another provider's resource it leases, another creator's open
    task, and a disputed task between two other actors."""
    caller = sign_in(roles=("staff", "arbitrator"))
    provider, creator, bidder = sign_in(), sign_in(), sign_in()
    for api in (caller, creator):
        fund(api.actor_id, "100000")

    def resource(api):
        return api.call(
            "web3.resources.publish",
            {
                "kind": "search",
                "name": "search",
                "backend": "searxng",
                "endpoint": "http://127.0.0.1:9",
                "pricing": {"unit": "query", "unitPrice": "0.010000", "currency": "USDC"},
            },
        ).result

    theirs, mine = resource(provider), resource(caller)
    lease = caller.call(
        "web3.leases.issue", {"resourceId": theirs["resourceId"], "maxCost": "50", "ttlSec": 3600}
    ).result
    open_task = Flow(creator, caller).publish().task
    own = Flow(caller, bidder).publish().place_bid()
    disputed = Flow(creator, bidder).delivered()
    disputed.review("reject", "incomplete")
    dispute = disputed.dispute().result
    events = caller.call("web3.audit.query", {"limit": 5}).result["items"]
    ids = {
        "tasks": [open_task["taskId"], own.task["taskId"], disputed.task["taskId"]],
        "bids": [own.bid["bidId"], disputed.bid["bidId"]],
        "results": [disputed.result["resultId"]],
        "resources": [theirs["resourceId"], mine["resourceId"]],
        "leases": [lease["leaseId"]],
        "disputes": [dispute["disputeId"]],
        "settlements": [lease["settlementId"]],
        "events": [e["eventId"] for e in events],
        "actors": [caller.actor_id, provider.actor_id, creator.actor_id],
    }
    ids["objects"] = [i for kind in ("tasks", "resources", "leases", "disputes", "settlements") for i in ids[kind]]
    return caller, ids


def with_real_ids(params, ids: dict[str, list[str]], rnd: random.Random):
    """The params with some id values swapped for real ones (nested objects too)."""
    if isinstance(params, list):
        return [with_real_ids(p, ids, rnd) for p in params]
    if not isinstance(params, dict):
        return params
    out = {}
    for key, value in params.items():
        pool = ids.get(ID_PARAMS.get(key, ""), [])
        if pool and isinstance(value, str) and rnd.random() < 0.7:
            out[key] = rnd.choice(pool)
        else:
            out[key] = with_real_ids(value, ids, rnd)
    return out


def as_query(params: dict) -> dict[str, str]:
    return {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in params.items()}


def documented(rules: dict[str, str], fields: dict) -> bool:
    return bool(fields) and all(f in rules for f in fields)


@pytest.mark.parametrize("name", METHODS)
def test_schema_valid_params_are_refused_only_for_documented_rules(world, anon, name):
    # given the method's own paramsSchema, and a caller that auth and funds do not stop
    caller, ids = world
    method = registry.get(name)
    described = anon.call("web3.capabilities.describe", {"name": name}).result
    schema, rules = described["paramsSchema"], described["paramRules"]
    validator = jsonschema.Draft202012Validator(schema)
    api = caller if method.auth != "none" else Api(caller.client)
    tally = TALLIES.setdefault(name, Tally())

    # when schema-valid params are sent, some with the ids of real objects
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(generated=from_schema(schema), seed=st.integers(0, 2**32))
    def explore(generated, seed):
        params = with_real_ids(generated, ids, random.Random(seed))
        if not validator.is_valid(params):
            params = generated
        assert validator.is_valid(params), (params, [e.message for e in validator.iter_errors(params)])
        clear_cache()
        r = api.call(name, params)
        tally.calls += 1
        if r.code == "E_INTERNAL":
            tally.crashes.append(params)
        if method.read_only and all(isinstance(v, str | int | bool) for v in params.values()):
            got = api.get(name, as_query(params))
            if got.code != r.code:
                tally.mismatches.append((params, r.code, got.code))
        if r.code == "E_INVALID_ARGUMENT":
            tally.invalid += 1
            fields = r.body["error"]["details"].get("fields") or {}
            if documented(rules, fields):
                tally.documented.update(list(fields))
            else:
                key = ", ".join(f"{k}: {v}" for k, v in sorted(fields.items())) or r.body["error"]["message"]
                tally.undocumented[key] += 1
                tally.examples.setdefault(key, params)

    explore()

    # then every refusal is one of the method's paramRules, nothing crashed, GET agreed
    assert not tally.crashes, [f"{p!r:.300}" for p in tally.crashes]
    assert not tally.mismatches, [f"{m!r:.300}" for m in tally.mismatches]
    assert not tally.undocumented, "\n".join(
        f"{k} ({n}x), e.g. {tally.examples[k]!r:.300}" for k, n in tally.undocumented.items()
    )
