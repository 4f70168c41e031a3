"""Cursor pagination over querysets ordered newest first (by primary key, descending).

The cursor is opaque to clients; it only narrows a queryset the selector already filtered for the
caller, so a forged cursor can reveal nothing the caller could not list anyway."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet

from market.errors import InvalidArgument


def _encode(pk: int) -> str:
    return base64.urlsafe_b64encode(f"pk:{pk}".encode()).decode().rstrip("=")


# What _encode writes: a primary key, ASCII digits, no leading zero, below 2**63. (str.isdigit() is
# also true of '١٢٣' and '²', which int() reads as 123 or refuses.)
_PK = re.compile(r"[1-9][0-9]{0,18}")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, pk = raw.partition(":")
        if prefix != "pk" or not _PK.fullmatch(pk) or int(pk) >= 2**63:
            raise ValueError
        return int(pk)
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument.field("cursor", "not a cursor returned by this list") from None


def paginate(
    qs: QuerySet,
    params: dict[str, Any],
    shape: Callable[[Any], Any] | None = None,
    *,
    key_copies: Sequence[str] = (),
) -> dict[str, Any]:
    """A page {items, nextCursor}: the rows themselves (for the list's output serializer), or each
    mapped by `shape`. `key_copies`: fields equal to the primary key in every row of `qs` (a
    joined table's key): the cursor bounds them too, as the database does not carry a range from
    one side of a join to the other, so a walk of that table starts at the cursor."""
    limit = params.get("limit", 50)
    cursor = params.get("cursor")
    qs = qs.order_by("-pk")
    if cursor:
        pk = _decode(cursor)
        qs = qs.filter(pk__lt=pk, **{f"{field}__lt": pk for field in key_copies})
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [shape(r) for r in rows] if shape else rows,
        "nextCursor": _encode(rows[-1].pk) if more and rows else None,
    }
