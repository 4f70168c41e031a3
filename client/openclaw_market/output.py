"""How the CLI shows things to a person: tables of lists, aligned fields of objects, a spinner on
stderr while a call takes long."""

from __future__ import annotations

import itertools
import json
import sys
import threading
from typing import Any

# Columns shown for the items of a list, by kind (anything else: its scalar fields).
COLUMNS = {
    "resources": ["resourceId", "kind", "name", "pricing", "status"],
    "tasks": ["taskId", "title", "budget", "currency", "status", "expiresAt"],
    "leases": ["leaseId", "resourceId", "spent", "remaining", "status", "expiresAt"],
    "bids": ["bidId", "taskId", "price", "etaSec", "status"],
    "sessions": ["sessionId", "mode", "budget", "spent", "currency", "status"],
}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and {"unitPrice", "currency", "unit"} <= set(value):
        return f"{value['unitPrice']} {value['currency']}/{value['unit']}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return "(none)"
    columns = columns or [k for k, v in rows[0].items() if not isinstance(v, (dict, list))]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def fields(obj: dict[str, Any]) -> str:
    width = max((len(k) for k in obj), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in obj.items())


def render(result: Any, kind: str | None = None) -> str:
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        text = table(result["items"], COLUMNS.get(kind or ""))
        if result.get("nextCursor"):
            text += f"\n(more: --cursor {result['nextCursor']})"
        return text
    if isinstance(result, list):
        return table(result, COLUMNS.get(kind or ""))
    if isinstance(result, dict):
        return fields(result)
    return _cell(result)


class Spinner:
    """Shows that a call is still running once it has taken half a second; says when the client
    waits before retrying (the market asked it to, with retryAfterSec)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.note = "working"

    def waiting(self, method: str, seconds: float) -> None:
        self.note = f"{method}: busy, retrying in {seconds:.1f}s"

    def _spin(self) -> None:
        if self._stop.wait(0.5):
            return
        for frame in itertools.cycle("|/-\\"):
            sys.stderr.write(f"\r{frame} {self.note}\033[K")
            sys.stderr.flush()
            if self._stop.wait(0.1):
                break
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    def __enter__(self) -> Spinner:
        if self.enabled:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
