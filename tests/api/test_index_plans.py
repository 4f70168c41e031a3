"""The index's hot queries read the big tables through their indexes (PostgreSQL): the queries that
web3.index.list and web3.resources.list run for each filter, captured from real calls, are EXPLAINed
against a market of 30,000 resources and 30,000 invocations built set-based and ANALYZEd (realistic
statistics, the planner left free to choose), and no plan scans a big table sequentially. The pages
also follow their keyset cursor with no duplicate or gap, and each filter's items satisfy it. The
planner expects the real share of degraded standings (the span's joint statistics, migration 0022),
so a degraded page is read in page order instead of collecting every degraded resource and sorting."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.index_data import build, provider_of
from market.models import ResourceStanding

pytestmark = pytest.mark.postgres

N = 30_000
BIG = ("market_resource", "market_resourcestanding", "market_invocation", "market_lease", "market_settlement")
FILTERS = [
    {},
    {"kind": "search"},
    {"currency": "USDC", "maxUnitPrice": "0.01"},
    {"currency": "USDC", "maxUnitPrice": "0.5"},
    {"tag": "t7"},
    {"tag": "r77"},
    {"providerActorId": provider_of(7, N)},
    {"kind": "model", "currency": "USDC", "maxUnitPrice": "0.5", "tag": "t9"},
]
HEALTH = [
    {"health": "healthy"},
    {"health": "degraded"},
    {"health": "stale"},
    {"health": "healthy", "kind": "model"},
    {"health": "degraded", "kind": "model"},
    {"health": "stale", "kind": "search"},
    {"health": "degraded", "tag": "r50"},
    {"health": "healthy", "currency": "USDC", "maxUnitPrice": "0.5"},
    {"health": "healthy", "providerActorId": provider_of(7, N)},
]


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_each_filter_reads_the_big_tables_through_an_index(db, sign_in):
    # given a market of N resources and N invocations, with the planner's statistics
    build(N, N)
    caller = sign_in()
    calls = [("web3.resources.list", f) for f in FILTERS] + [("web3.index.list", f) for f in FILTERS + HEALTH]
    for method, params in calls:
        # when a first page and the next one are read
        with CaptureQueriesContext(connection) as captured:
            first = caller.call(method, {**params, "limit": 20}).result
            items = first["items"]
            if first["nextCursor"]:
                items += caller.call(method, {**params, "limit": 20, "cursor": first["nextCursor"]}).result["items"]
        # then the pages follow each other newest first, and every item matches the filter
        ids = [int(i["resourceId"].removeprefix("res_bench")) for i in items]
        assert ids and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), (method, params)
        for item in items:
            for key in ("kind", "providerActorId", "health"):
                if key in params:
                    assert item[key] == params[key], (method, params, item)
            if "tag" in params:
                assert params["tag"] in item["tags"]
            if "maxUnitPrice" in params:
                assert float(item["pricing"]["unitPrice"]) <= float(params["maxUnitPrice"])
        # and no query of the big tables plans a sequential scan
        for query in captured.captured_queries:
            sql = query["sql"]
            if sql.startswith("SELECT") and any(f'"{t}"' in sql for t in BIG):
                shown = plan(sql)
                assert not any(f"Seq Scan on {t}" in shown for t in BIG), f"{method} {params}\n{sql}\n{shown}"


def test_the_planner_expects_the_degraded_share_of_the_standings(db):
    # given a market where 2% of the resources are degraded now (both ends of the span set, or neither)
    build(N, 0)
    now = timezone.now()
    degraded = ResourceStanding.objects.filter(degraded_from__lte=now, degraded_until__gt=now)
    sql, params = degraded.query.sql_with_params()
    # when the planner estimates the rows of the degraded filter
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        shown = cursor.fetchone()[0]
    estimate = (json.loads(shown) if isinstance(shown, str) else shown)[0]["Plan"]["Plan Rows"]
    # then it expects about as many as there are (the span's joint statistics), not 2% of 2%: a
    # page of degraded resources is read in page order, not collected whole and sorted
    actual = degraded.count()
    assert actual == N // 50
    assert actual / 2 <= estimate <= actual * 2, (estimate, actual)
