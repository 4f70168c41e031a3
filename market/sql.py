"""Plain SQL for the ledger's hot path, with model instances in and out.

Building an ORM statement costs 0.2-0.4 ms of Python; a lock or a release ran about ten of them
while it held its account rows and, for the last few, the audit chain head that every money
transaction of the market waits on. These helpers send the same statements as plain SQL and convert
values as the ORM does (field.pre_save, get_db_prep_save on the way in; the backend's converters on
the way out). On PostgreSQL the statements are prepared once per connection, and writes that do not
read each other's rows go together as one statement (data-modifying CTEs); elsewhere they run one by
one. Standard SQL otherwise; FOR UPDATE only where the database has it (SQLite's IMMEDIATE
transactions lock it whole). bench/ledger.py measures the result against raw psycopg.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models

M = TypeVar("M", bound=models.Model)


def _conn():
    # One lookup of the thread's connection per helper call: each `connection.x` goes through
    # Django's proxy and asgiref's Local, which costs more than building the statement.
    return connections[DEFAULT_DB_ALIAS]


@contextmanager
def cursor(conn=None):
    """A cursor on the default connection. On PostgreSQL a server-side-binding psycopg cursor, so the
    hot statements are prepared once per connection (psycopg prepares a statement on its fifth use)
    instead of parsed and planned each time; errors still arrive as django.db exceptions. Django's
    cursor instead while an execute wrapper is installed, so that the wrapper sees every statement."""
    conn = conn or _conn()
    if conn.vendor != "postgresql" or conn.execute_wrappers:
        # Django's cursor where it must see the statements: the gateway's read-only guard, a test's
        # query counter (connection.execute_wrapper) are not applied to psycopg's own cursor.
        with conn.cursor() as c:
            yield c
        return
    conn.validate_no_broken_transaction()
    conn.ensure_connection()
    with conn.wrap_database_errors, conn.connection.cursor() as c:
        yield c


def lock_clause(statement: str) -> str:
    """The statement with FOR UPDATE where the database has it (SQLite's IMMEDIATE transactions
    lock the whole database instead)."""
    return statement + (" FOR UPDATE" if _conn().features.has_select_for_update else "")


def execute(sql: str, params: Sequence[Any] = (), conn=None) -> list[tuple]:
    """Run one statement on the default connection; the rows it returns, if any."""
    with cursor(conn) as c:
        c.execute(sql, params)
        return c.fetchall() if c.description else []


@cache
def _select(model: type[models.Model], vendor: str, where: str, order_by: str) -> str:
    ops, features = connections[DEFAULT_DB_ALIAS].ops, connections[DEFAULT_DB_ALIAS].features
    columns = ", ".join(ops.quote_name(f.column) for f in model._meta.concrete_fields)
    lock = " FOR UPDATE" if features.has_select_for_update else ""
    return (
        f"SELECT {columns} FROM {ops.quote_name(model._meta.db_table)} "  # noqa: S608 - names from the model
        f"WHERE {where} ORDER BY {ops.quote_name(order_by)}{lock}"
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


def select_for_update(model: type[M], where: str, params: Sequence[Any], order_by: str = "id") -> list[M]:
    """Rows of `model` matching `where`, locked in `order_by` order (the fixed lock order)."""
    conn = _conn()
    rows = execute(_select(model, conn.vendor, where, order_by), params, conn)
    converters = _converters(model, conn.vendor)
    out = []
    for row in rows:
        if converters:
            row = list(row)
            for i, funcs, col in converters:
                for func in funcs:
                    row[i] = func(row[i], col, conn)
        out.append(model.from_db(conn.alias, None, row))
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


def _values(obj: models.Model, fields: list, conn, *, add: bool) -> list:
    plain = _plain(type(obj), tuple(f.name for f in fields))
    return [
        getattr(obj, f.attname) if p else f.get_db_prep_save(f.pre_save(obj, add=add), conn)
        for f, p in zip(fields, plain, strict=True)
    ]


@cache
def _insert(model: type[models.Model], vendor: str) -> tuple[list, str, bool]:
    conn = connections[DEFAULT_DB_ALIAS]
    q, meta = conn.ops.quote_name, model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    statement = (
        f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    returning = conn.features.can_return_columns_from_insert
    if returning:
        statement += f" RETURNING {q(meta.pk.column)}"
    return fields, statement, returning


def insert(obj: M) -> M:
    """INSERT one new instance (defaults and auto_now(_add) applied as save() would); sets its pk."""
    conn = _conn()
    fields, statement, returning = _insert(type(obj), conn.vendor)
    values = _values(obj, fields, conn, add=True)
    with cursor(conn) as c:
        c.execute(statement, values)
        if returning:
            obj.pk = c.fetchone()[0]
        else:  # pragma: no cover - both supported databases return columns
            obj.pk = conn.ops.last_insert_id(c, obj._meta.db_table, obj._meta.pk.column)
    obj._state.adding = False
    obj._state.db = conn.alias
    return obj


@cache
def _update(model: type[models.Model], vendor: str, names: tuple[str, ...]) -> tuple[list, str]:
    q, meta = connections[DEFAULT_DB_ALIAS].ops.quote_name, model._meta
    fields = [meta.get_field(n) for n in names]
    assignments = ", ".join(f"{q(f.column)} = %s" for f in fields)
    return fields, f"UPDATE {q(meta.db_table)} SET {assignments} WHERE {q(meta.pk.column)} = %s"  # noqa: S608


def save_fields(obj: models.Model, names: Sequence[str]) -> None:
    """UPDATE the named fields of a saved instance (auto_now fields among them are set to now)."""
    conn = _conn()
    fields, statement = _update(type(obj), conn.vendor, tuple(names))
    values = _values(obj, fields, conn, add=False)
    execute(statement, [*values, obj.pk], conn)


def update_statement(obj: models.Model, names: Sequence[str]) -> tuple[str, list]:
    """The UPDATE of save_fields, not run: (statement, params)."""
    conn = _conn()
    fields, statement = _update(type(obj), conn.vendor, tuple(names))
    return statement, [*_values(obj, fields, conn, add=False), obj.pk]


def insert_statement(obj: models.Model) -> tuple[str, list]:
    """The INSERT of insert() (RETURNING the id where the database can), not run."""
    conn = _conn()
    fields, statement, _ = _insert(type(obj), conn.vendor)
    return statement, _values(obj, fields, conn, add=True)


def _saved(obj: M, pk: int) -> M:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS
    return obj


def insert_with(obj: M, *others: tuple[str, list]) -> M:
    """insert(obj) and other data-changing statements that do not read its row: in one round trip
    on PostgreSQL (data-modifying CTEs), one by one elsewhere."""
    conn = _conn()
    if conn.vendor != "postgresql":
        insert(obj)
        for statement, params in others:
            execute(statement, params, conn)
        return obj
    first, params = insert_statement(obj)
    parts = [f"w{i} AS ({statement})" for i, (statement, _) in enumerate(others)]
    rows = execute(
        f"WITH {', '.join([*parts, f'w AS ({first})'])} SELECT * FROM w",  # noqa: S608 - our statements
        [*(p for _, ps in others for p in ps), *params],
        conn,
    )
    return _saved(obj, rows[0][0])


@cache
def _sequence(table: str) -> str:
    return execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]


def insert_linked(a: models.Model, b: models.Model, *, a_to_b: str, b_to_a: str, also: tuple[str, list]) -> None:
    """INSERT two new rows that point at each other (a.<a_to_b> = b, b.<b_to_a> = a), plus one more
    independent statement, as one statement: on PostgreSQL, with both ids drawn from their sequences
    first (foreign keys are checked at commit); elsewhere three statements and an UPDATE of a."""
    conn = _conn()
    if conn.vendor != "postgresql":
        insert(a)
        setattr(b, b_to_a, a)
        insert(b)
        execute(*also, conn=conn)
        setattr(a, a_to_b, b)
        save_fields(a, [a_to_b])
        return
    selects = []
    params: list = []
    for obj, link, other_id in ((a, a_to_b, "b_id"), (b, b_to_a, "a_id")):
        fields, _, _ = _insert(type(obj), conn.vendor)
        link_column = obj._meta.get_field(link).column
        values = _values(obj, fields, conn, add=True)
        columns = ["id", *(f.column for f in fields)]
        exprs = ["a_id" if obj is a else "b_id"]
        for f, v in zip(fields, values, strict=True):
            if f.column == link_column:
                exprs.append(other_id)
            else:
                exprs.append("%s")
                params.append(v)
        selects.append(
            f"INSERT INTO {conn.ops.quote_name(obj._meta.db_table)} "  # noqa: S608 - model names
            f"({', '.join(conn.ops.quote_name(c) for c in columns)}) SELECT {', '.join(exprs)} FROM ids"
        )
    a_id, b_id = execute(
        f"WITH ids AS (SELECT nextval(%s) AS a_id, nextval(%s) AS b_id), wa AS ({selects[0]}), "  # noqa: S608
        f"wb AS ({selects[1]}), w AS ({also[0]}) SELECT a_id, b_id FROM ids",
        [_sequence(a._meta.db_table), _sequence(b._meta.db_table), *params, *also[1]],
        conn,
    )[0]
    _saved(a, a_id)
    _saved(b, b_id)
    setattr(a, a_to_b, b)
    setattr(b, b_to_a, a)
