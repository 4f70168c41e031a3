"""The transaction of one unit of work, and the savepoints its services need (or not).

A service runs its writes in `atomic()`: a transaction of its own when called alone, a block of its
caller's otherwise. Django gives every nested block a savepoint (two statements, SAVEPOINT and
RELEASE), so that a failure inside can roll back alone while the caller carries on. The gateway's
request never carries on: any failure rolls its whole transaction back (and a deadlock retries it
from the start). Inside `whole()`, the services' blocks therefore take no savepoint: a failure
marks the enclosing transaction for rollback, and the request's own block (which keeps its
savepoint when it is itself nested, as in a test) rolls it back.

A block that catches a failure and carries on inside the unit (an account opened by two
transactions at once, a transfer's idempotency key used twice) keeps its own transaction.atomic()
and so its savepoint; only a block whose failure always leaves the unit uses atomic().
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_WHOLE: ContextVar[bool] = ContextVar("market_whole_unit", default=False)


@contextmanager
def whole() -> Iterator[None]:
    """Inside: the enclosing transaction is rolled back as a whole on any failure."""
    reset = _WHOLE.set(True)
    try:
        yield
    finally:
        _WHOLE.reset(reset)


def atomic() -> transaction.Atomic:
    """transaction.atomic(), without a savepoint inside a whole unit."""
    return transaction.atomic(savepoint=not _WHOLE.get())


@contextmanager
def unit() -> Iterator[None]:
    """A transaction of its own (a savepoint when nested) that a failure leaves as a whole, as the
    gateway's request: the services' blocks inside take no savepoint."""
    with transaction.atomic(), whole():
        yield
