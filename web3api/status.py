"""web3.status.summary parts. Each capability registers a part: a function returning
(state, message) with state ok | degraded | down. A part that raises is reported as down with a
generic message (its exception is logged, never shown)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

log = logging.getLogger("web3api.status")

STATES = ["ok", "degraded", "down"]
PARTS: dict[str, Callable[[], tuple[str, str]]] = {}


@dataclass(frozen=True)
class Part:
    status: str
    message: str


@dataclass(frozen=True)
class Summary:
    status: str  # the worst of the parts
    checked_at: datetime
    parts: dict[str, Part]


def part(name: str):
    def wrap(fn: Callable[[], tuple[str, str]]):
        PARTS[name] = fn
        return fn

    return wrap


def summary() -> Summary:
    parts = {}
    for name, fn in PARTS.items():
        try:
            state, message = fn()
        except Exception:  # noqa: BLE001 - a broken part must not break the summary
            log.exception("status part %s failed", name)
            state, message = "down", f"{name} check failed"
        parts[name] = Part(status=state, message=message)
    states = {p.status for p in parts.values()}
    overall = "down" if "down" in states else "degraded" if "degraded" in states else "ok"
    return Summary(status=overall, checked_at=timezone.now(), parts=parts)


@part("database")
def _database() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok", f"{connection.vendor} reachable"


@part("broker")
def _broker() -> tuple[str, str]:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        import os

        if os.path.isdir(folder) and os.access(folder, os.W_OK):
            pending = len(os.listdir(folder))
            state = "ok" if pending < 10000 else "degraded"
            return state, f"embedded broker, {pending} messages queued"
        return "down", "embedded broker folder is not writable"
    from openclaw.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001
        return "down", "broker unreachable"
    return "ok", "broker reachable"


@part("identity")
def _identity() -> tuple[str, str]:
    from web3api.models import ActorToken

    live = ActorToken.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()).count()
    domain = settings.WEB3_SIWE_DOMAIN or "the request's host"
    return "ok", f"SIWE for {domain}, chains {settings.WEB3_CHAIN_IDS}; {live} live sessions"


@part("ledger")
def _ledger() -> tuple[str, str]:
    from market.selectors import ledger

    unbalanced = ledger.posted_imbalances()
    if unbalanced:
        return "down", f"balances do not sum to zero in {', '.join(unbalanced)}"
    return "ok", f"balanced; {ledger.open_settlement_count()} open settlements"
