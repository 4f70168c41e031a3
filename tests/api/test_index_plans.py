"""The index's hot queries read the big tables through their indexes (PostgreSQL): the queries that
web3.index.list and web3.resources.list run for each filter, captured from real calls, are EXPLAINed
against a market of 30,000 resources and 30,000 invocations built set-based and ANALYZEd (realistic
statistics, the planner left free to choose), and no plan scans a big table sequentially. The pages
also follow their keyset cursor with no duplicate or gap, and each filter's items satisfy it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.index_data import build, provider_of

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
HEALTH = [{"health": "healthy"}, {"health": "degraded"}, {"health": "stale"}, {"health": "degraded", "kind": "model"}]


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
