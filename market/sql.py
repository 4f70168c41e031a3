"""Plain SQL for the money hot path, run through Django's cursor, with model instances in and out.

Why at all: building an ORM statement costs 0.2-0.4 ms of Python, and a lock or a release ran about
ten of them while it held its account rows and, for the last few, the audit chain head that every
money transaction of the market queues on. Measured on bench/ledger.py's operations (one client, CPU
of the client thread and of its PostgreSQL backend per lock or release): 1.9 ms with these
statements, 3.5 ms with the ORM writing the same rows. So the few statements of that path are
written once, by name, where they belong: the account and head locks in market.locks, the account
totals in market.services.ledger, the event append in market.audit.log; the settlement and transfer
rows go through the generic INSERT/UPDATE/SELECT of a model's row built here (the column list from
the model, values converted as the ORM converts them: pre_save and get_db_prep_save on the way in,
the backend's converters and Model.from_db on the way out). One read path is written the same
way, for the same reason: the dashboard's figures (market.selectors.economics_sql, measured by
bench/console.py).

Every statement goes through connection.cursor(), so every execute wrapper (the gateway's read-only
guard, a test's query counter) sees it, on every database. (A psycopg cursor of its own, binding on
the server so that PostgreSQL prepared the statements, measured no faster: 1.9 ms too.) FOR UPDATE
only where the database has it (SQLite's IMMEDIATE transactions lock the whole database instead).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models

M = TypeVar("M", bound=models.Model)
Statement = tuple[str, list]


def _conn():
    # One lookup of the thread's connection per call: each `connection.x` goes through Django's
    # proxy and asgiref's Local, which costs more than building the statement.
    return connections[DEFAULT_DB_ALIAS]


def lock_clause(statement: str, of: Sequence[str] = ()) -> str:
    """The statement with FOR UPDATE (OF these aliases, in this order) where the database has it."""
    if not _conn().features.has_select_for_update:
        return statement
    return statement + " FOR UPDATE" + (f" OF {', '.join(of)}" if of else "")


def execute(statement: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Run one statement; the rows it returns, if any."""
    with _conn().cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@cache
def _select(model: type[models.Model], vendor: str, where: str, order_by: str, joins: str, of: tuple[str, ...]) -> str:
    ops = connections[DEFAULT_DB_ALIAS].ops
    if not joins:
        columns = ", ".join(ops.quote_name(f.column) for f in model._meta.concrete_fields)
        return lock_clause(
            f"SELECT {columns} FROM {ops.quote_name(model._meta.db_table)} "  # noqa: S608 - names from the model
            f"WHERE {where} ORDER BY {ops.quote_name(order_by)}"
        )
    columns = ", ".join(f"t.{ops.quote_name(f.column)}" for f in model._meta.concrete_fields)
    return lock_clause(
        f"SELECT {columns} FROM {ops.quote_name(model._meta.db_table)} t {joins} "  # noqa: S608 - names from the model
        f"WHERE {where} ORDER BY t.{ops.quote_name(order_by)}",
        ("t", *of),
    )


@cache
def _converters(model: type[models.Model], vendor: str) -> list[tuple[int, list, Any]]:
    conn = connections[DEFAULT_DB_ALIAS]
    out = []
    for i, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        found = conn.ops.get_db_converters(col) + field.get_db_converters(conn)
        if found:
            out.append((i, found, col))
    return out


def select_for_update(
    model: type[M],
    where: str,
    params: Sequence[Any],
    order_by: str = "id",
    *,
    joins: str = "",
    of: tuple[str, ...] = (),
) -> list[M]:
    """Rows of `model` matching `where`, locked in `order_by` order (the fixed lock order). With
    `joins` (the model's table is then `t`, and `where` names its columns t.x), the joined rows of
    the aliases `of` are locked too, each row's after its `t` row, in the order `of` names them
    (PostgreSQL locks a row's tables in the order of FOR UPDATE OF)."""
    conn = _conn()
    names = [f.attname for f in model._meta.concrete_fields]
    converters = _converters(model, conn.vendor)
    out = []
    for row in execute(_select(model, conn.vendor, where, order_by, joins, of), params):
        if converters:
            row = list(row)
            for i, funcs, col in converters:
                for func in funcs:
                    row[i] = func(row[i], col, conn)
        out.append(model.from_db(conn.alias, names, row))
    return out


# Values of these field types go to the driver as they are: get_db_prep_save returns them unchanged,
# and Model.__init__ has already applied their defaults.
_PLAIN = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
}


@cache
def _plain(model: type[models.Model], names: tuple[str, ...]) -> tuple[bool, ...]:
    return tuple(model._meta.get_field(n).get_internal_type() in _PLAIN for n in names)


def _values(obj: models.Model, fields: list, *, add: bool) -> list:
    conn = _conn()
    plain = _plain(type(obj), tuple(f.name for f in fields))
    return [
        getattr(obj, f.attname) if p else f.get_db_prep_save(f.pre_save(obj, add=add), conn)
        for f, p in zip(fields, plain, strict=True)
    ]


@cache
def _insert(model: type[models.Model], vendor: str) -> tuple[list, str]:
    q, meta = connections[DEFAULT_DB_ALIAS].ops.quote_name, model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    statement = (
        f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {q(meta.pk.column)}"
    )
    return fields, statement


def insert_statement(obj: models.Model) -> Statement:
    """The INSERT of a new instance, RETURNING its id (defaults and auto_now(_add) applied as save()
    would), not run."""
    fields, statement = _insert(type(obj), _conn().vendor)
    return statement, _values(obj, fields, add=True)


def insert(obj: M) -> M:
    """INSERT one new instance; sets its pk."""
    obj.pk = execute(*insert_statement(obj))[0][0]
    return obj


@cache
def _update(model: type[models.Model], vendor: str, names: tuple[str, ...]) -> tuple[list, str]:
    q, meta = connections[DEFAULT_DB_ALIAS].ops.quote_name, model._meta
    fields = [meta.get_field(n) for n in names]
    assignments = ", ".join(f"{q(f.column)} = %s" for f in fields)
    return fields, f"UPDATE {q(meta.db_table)} SET {assignments} WHERE {q(meta.pk.column)} = %s"  # noqa: S608


def update_statement(obj: models.Model, names: Sequence[str]) -> Statement:
    """The UPDATE of the named fields of a saved instance (auto_now fields among them set to now),
    not run."""
    fields, statement = _update(type(obj), _conn().vendor, tuple(names))
    return statement, [*_values(obj, fields, add=False), obj.pk]


def save_fields(obj: models.Model, names: Sequence[str]) -> None:
    execute(*update_statement(obj, names))


# --- statements written together ---------------------------------------------------------------------
# The one place where PostgreSQL and SQLite take two paths, for a measured reason: on PostgreSQL,
# data-changing statements that do not read each other's rows go as one statement (data-modifying
# CTEs), one round trip instead of three or four while the account rows (and, for the audit append,
# the chain head) are held; one by one they cost 2.3 ms of CPU per lock or release instead of 1.9 ms
# (measured as above). SQLite has no data-modifying CTEs; there they run one by one.


def batched() -> bool:
    """Whether statements written together go as one (PostgreSQL)."""
    return _conn().vendor == "postgresql"


class Chained:
    """Data-changing statements of which a later one reads an earlier one's RETURNING rows (an audit
    leaf and its parties, market.audit.log): in a batch, named parts of its WITH; one by one where
    nothing is batched."""

    def parts(self, prefix: str) -> list[tuple[str, str, list]]:
        """(name, statement, params) of each part, in order: each name begins with `prefix`, and a
        part reads an earlier one by its name."""
        raise NotImplementedError

    def run(self) -> None:
        raise NotImplementedError


Part = Statement | Chained


def _ctes(others: Sequence[Part]) -> tuple[list[str], list]:
    texts: list[str] = []
    params: list = []
    for i, part in enumerate(others):
        named = part.parts(f"w{i}_") if isinstance(part, Chained) else [(f"w{i}", *part)]
        for name, statement, ps in named:
            texts.append(f"{name} AS ({statement})")
            params += ps
    return texts, params


def _run(parts: Sequence[Part]) -> None:
    for part in parts:
        if isinstance(part, Chained):
            part.run()
        else:
            execute(*part)


def insert_with(obj: M, *others: Part, built: Statement | None = None) -> M:
    """insert(obj) and other data-changing statements that do not read its row. `built`: obj's
    INSERT from insert_statement(obj), when the caller needed the values it set (created_at) first."""
    first, params = built or insert_statement(obj)
    if not batched():
        obj.pk = execute(first, params)[0][0]
        _run(others)
        return obj
    parts, others_params = _ctes(others)
    obj.pk = execute(
        f"WITH {', '.join([*parts, f'w AS ({first})'])} SELECT * FROM w",  # noqa: S608 - our statements
        [*others_params, *params],
    )[0][0]
    return obj


def run_together(*statements: Part) -> None:
    """Data-changing statements that do not read each other's rows (no RETURNING needed): one
    statement on PostgreSQL, one by one elsewhere."""
    if not batched() or (len(statements) < 2 and not any(isinstance(s, Chained) for s in statements)):
        _run(statements)
        return
    parts, params = _ctes(statements)
    execute(f"WITH {', '.join(parts)} SELECT 1", params)


# --- many rows at once ---------------------------------------------------------------------------------
# A sweep writes thousands of rows per batch. Through bulk_create each row is a model instance whose
# every value Django prepares, and psycopg then quotes every element of the UNNEST arrays one by one
# in Python: most of the batch's time (bench/sweep.py). Here the rows go as one JSON document, read on
# the server (json_populate_recordset on PostgreSQL, the table's own column types; json_each on SQLite).


def _json_value(value: Any) -> Any:
    """A prepared value as JSON carries it (a datetime PostgreSQL is given as such: ISO 8601 text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


@cache
def _insert_rows(model: type[models.Model], vendor: str, names: tuple[str, ...], returning: tuple[str, ...]) -> str:
    q, meta = connections[DEFAULT_DB_ALIAS].ops.quote_name, model._meta
    columns = [meta.get_field(n).column for n in names]
    target = f"INSERT INTO {q(meta.db_table)} ({', '.join(q(c) for c in columns)}) "  # noqa: S608 - model names
    if vendor == "postgresql":
        listed = ", ".join(q(c) for c in columns)
        select = f"SELECT {listed} FROM json_populate_recordset(NULL::{q(meta.db_table)}, %s)"  # noqa: S608
    else:
        select = f"SELECT {', '.join(f'value ->> {c!r}' for c in columns)} FROM json_each(%s)"  # noqa: S608
    back = f" RETURNING {', '.join(q(meta.get_field(n).column) for n in returning)}" if returning else ""
    return target + select + back


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]], returning: Sequence[str] = ()
) -> list[tuple]:
    """INSERT rows (values of the fields `names`, in that order; no defaults or pre_save applied) in
    one statement; the `returning` fields of the new rows, in no promised order."""
    if not rows:
        return []
    conn = _conn()
    fields = [model._meta.get_field(n) for n in names]
    columns = [f.column for f in fields]
    prepared = [(i, f) for i, (f, p) in enumerate(zip(fields, _plain(model, tuple(names)), strict=True)) if not p]
    if prepared:
        rows = [list(row) for row in rows]
        for row in rows:
            for i, f in prepared:
                row[i] = _json_value(f.get_db_prep_save(row[i], conn))
    document = json.dumps([dict(zip(columns, row, strict=True)) for row in rows])
    return execute(_insert_rows(model, conn.vendor, tuple(names), tuple(returning)), [document])


@cache
def _sequence(table: str) -> str:
    return execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]


def insert_linked(a: models.Model, b: models.Model, *, a_to_b: str, b_to_a: str, also: Sequence[Part]) -> None:
    """INSERT two new rows that point at each other (a.<a_to_b> = b, b.<b_to_a> = a), plus more
    independent statements: batched, with both ids drawn from their sequences first (the foreign keys
    are checked at commit); one by one, the two INSERTs, the others and an UPDATE of a."""
    if not batched():
        insert(a)
        setattr(b, b_to_a, a)
        insert(b)
        _run(also)
        setattr(a, a_to_b, b)
        save_fields(a, [a_to_b])
        return
    q = _conn().ops.quote_name
    selects = []
    params: list = []
    for obj, link, other_id in ((a, a_to_b, "b_id"), (b, b_to_a, "a_id")):
        fields, _ = _insert(type(obj), _conn().vendor)
        link_column = obj._meta.get_field(link).column
        columns = ["id", *(f.column for f in fields)]
        exprs = ["a_id" if obj is a else "b_id"]
        for f, v in zip(fields, _values(obj, fields, add=True), strict=True):
            if f.column == link_column:
                exprs.append(other_id)
            else:
                exprs.append("%s")
                params.append(v)
        selects.append(
            f"INSERT INTO {q(obj._meta.db_table)} "  # noqa: S608 - model names
            f"({', '.join(q(c) for c in columns)}) SELECT {', '.join(exprs)} FROM ids"
        )
    parts, also_params = _ctes(also)
    a.pk, b.pk = execute(
        f"WITH ids AS (SELECT nextval(%s) AS a_id, nextval(%s) AS b_id), wa AS ({selects[0]}), "  # noqa: S608
        f"wb AS ({selects[1]}){''.join(', ' + part for part in parts)} SELECT a_id, b_id FROM ids",
        [_sequence(a._meta.db_table), _sequence(b._meta.db_table), *params, *also_params],
    )[0]
    setattr(a, a_to_b, b)
    setattr(b, b_to_a, a)
