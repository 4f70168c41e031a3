"""A mutating method registered only under the test settings, to test the gateway's
idempotency, transactions and error mapping with an effect that can be counted."""

import threading
import time

from django.db import connection
from django.db.models import F
from rest_framework import serializers

from market import sql
from market.errors import Conflict
from tests.testapp.models import Counter
from web3api.registry import method
from web3api.serializers import Params

# Tests set this to hold a call in flight until they release it.
GATE: dict[str, threading.Event] = {}


class IncrementParams(Params):
    name = serializers.CharField(max_length=64)
    by = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    fail = serializers.ChoiceField(choices=["none", "conflict", "crash", "integrity"], default="none")
    holdMs = serializers.IntegerField(min_value=0, max_value=5000, default=0)


class IncrementResult(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.IntegerField()


@method(
    name="web3.test.increment",
    summary="Test-only: add to a counter.",
    group="test",
    params=IncrementParams,
    result=IncrementResult,
    errors=["E_CONFLICT"],
)
def increment(call, params):
    counter, _ = Counter.objects.get_or_create(name=params["name"])
    Counter.objects.filter(pk=counter.pk).update(value=F("value") + params["by"])
    if params["holdMs"]:
        gate = GATE.get(params["name"])
        if gate is not None:
            gate.wait(params["holdMs"] / 1000)
        else:
            time.sleep(params["holdMs"] / 1000)
    if params["fail"] == "conflict":
        raise Conflict("refused on purpose")
    if params["fail"] == "integrity":
        Counter.objects.create(name=params["name"])  # the name is unique: IntegrityError
    if params["fail"] == "crash":
        raise RuntimeError("secret internals /srv/private/path must not leak")
    counter.refresh_from_db()
    return {"name": counter.name, "value": counter.value}


class PeekParams(Params):
    name = serializers.CharField(max_length=64)
    sneak = serializers.BooleanField(default=False)
    # How the sneaked write is sent: the ORM, market.sql's cursor, or a data-modifying CTE.
    via = serializers.ChoiceField(choices=["orm", "sql", "cte"], default="orm")


@method(
    name="web3.test.peek",
    summary="Test-only: read a counter (or, wrongly, write one).",
    group="test",
    read_only=True,
    params=PeekParams,
    result=IncrementResult,
)
def peek(call, params):
    table = Counter._meta.db_table
    if params["sneak"] and params["via"] == "orm":
        Counter.objects.update_or_create(name=params["name"], defaults={"value": 99})
    elif params["sneak"] and params["via"] == "sql":
        sql.execute(f"INSERT INTO {table} (name, value) VALUES (%s, 99)", [params["name"]])  # noqa: S608
    elif params["sneak"]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH w AS (INSERT INTO {table} (name, value) VALUES (%s, 99) RETURNING id) "  # noqa: S608
                f"SELECT id FROM w",
                [params["name"]],
            )
    counter = Counter.objects.filter(name=params["name"]).first()
    return {"name": params["name"], "value": counter.value if counter else 0}
