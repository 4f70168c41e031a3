"""Controlled invocation: the consumer of an active lease calls the resource through the market.

Three steps, never a network call inside a transaction:
1. reserve (short transaction): lock the lease, check state, policy, concurrency and budget, and
   record a pending Invocation holding the most the call can cost;
2. call the provider (no transaction open) with the stored endpoint and token: this module is the
   one reader of market.secrets.unseal;
3. settle (short transaction): charge the actual usage as a partial escrow release with its usage
   entry (source proxy, usageRef = the invocation id), or record the failure and charge nothing.

Billing: the units billed are those reported, at most the units reserved (and at most what the
remaining budget pays for); the cost is exactly the billed units' price, so units and cost always
agree. A provider reporting more than was reserved is paid the reservation, and its report is kept
beside the billed units on the invocation, the usage entry and the audit event.

maxConcurrent counts the lease's pending invocations younger than reservation_ttl() in the database,
so it holds across processes, and a reservation whose process died stops counting after the TTL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from market import locks, sql, states, tx
from market.audit.log import audit_leaf, audit_record
from market.errors import (
    Conflict,
    Expired,
    Forbidden,
    InvalidArgument,
    MarketError,
    QuotaExceeded,
    Revoked,
    Timeout,
    Unavailable,
)
from market.errors import InsufficientFunds as InsufficientFundsError
from market.ids import new_id
from market.models import Invocation, Lease, Resource
from market.money import cost_minor, format_amount
from market.secrets import unseal
from market.services.backends import Plan, interpret, plan_for
from market.services.leases import charge, lock_lease, require_active, units_paid_by
from market.services.standing import standing_record_call, standing_record_calls

log = logging.getLogger("market.invoke")


def reservation_ttl() -> timedelta:
    """How long a pending invocation holds its reservation (WEB3_INVOCATION_RESERVATION_TTL_SEC)."""
    return timedelta(seconds=settings.WEB3_INVOCATION_RESERVATION_TTL_SEC)


INV = Invocation.Status


@dataclass
class InvokeResult:
    output: Any
    units: int  # billed
    cost: int
    lease: Lease
    reported_units: int | None = None


def _live_pending(lease: Lease, now):
    return Invocation.objects.filter(lease=lease, status=INV.PENDING, started_at__gt=now - reservation_ttl())


def invocation_start(
    *,
    lease: Lease,
    resource: Resource,
    plan: Plan,
    reserve: int,
    actor_id: str,
    now,
    session_id: str | None = None,
) -> Invocation:
    """The pending invocation holding `reserve` on the lease, with its audit event (in the caller's
    transaction, the lease locked)."""
    inv = Invocation(
        invocation_id=new_id("inv"),
        lease=lease,
        resource=resource,
        reserved=reserve,
        reserved_units=plan.max_units,
        started_at=now,
    )
    leaf = audit_leaf(
        actor_id=actor_id,
        action="invocation.start",
        object_type="lease",
        object_id=lease.lease_id,
        payload={
            "invocationId": inv.invocation_id,
            **({"sessionId": session_id} if session_id else {}),
            "reservedUnits": plan.max_units,
            "reserved": format_amount(reserve, lease.currency),
            "currency": lease.currency,
        },
        parties=[lease.consumer_actor_id, lease.provider_actor_id],
    )
    return sql.insert_with(inv, leaf)  # with its leaf: one statement on PostgreSQL


def invoke_reserve(*, lease_id: str, actor_id: str, input: dict[str, Any]) -> tuple[Invocation, Plan]:
    with tx.atomic():
        lease = lock_lease(lease_id, actor_id)
        if actor_id != lease.consumer_actor_id:
            raise Forbidden("only the lease's consumer may invoke through it")
        if lease.session_id is not None:
            raise Conflict("this lease belongs to a session: invoke with its sessionId and resourceId")
        now = timezone.now()
        require_active(lease, now)
        resource = lease.resource
        policy = lease.policy or resource.policy or {}
        plan = plan_for(resource, policy, input)
        reserve = cost_minor(plan.max_units, lease.unit_price, lease.per_units)
        live = _live_pending(lease, now).aggregate(running=Count("pk"), total=Sum("reserved"))
        limit = policy.get("maxConcurrent") or 0
        if limit and live["running"] >= limit:
            raise QuotaExceeded(
                "the lease already has maxConcurrent calls running",
                details={"maxConcurrent": limit, "retryAfterSec": 1},
            )
        held = live["total"] or 0
        if reserve > lease.remaining - held:
            raise InsufficientFundsError(
                "the lease's remaining budget cannot cover this call",
                details={
                    "remaining": format_amount(lease.remaining - held, lease.currency),
                    "required": format_amount(reserve, lease.currency),
                },
            )
        inv = invocation_start(lease=lease, resource=resource, plan=plan, reserve=reserve, actor_id=actor_id, now=now)
        return inv, plan


def _call_provider(resource: Resource, policy: dict[str, Any], plan: Plan) -> tuple[Any, int | None]:
    answer = plan.send(unseal(resource.endpoint_sealed), unseal(resource.access_token_sealed))
    if 300 <= answer.status < 400:
        raise Unavailable("the provider answered with a redirect, which the market does not follow")
    if answer.status >= 500 or answer.status in (401, 403, 407, 408, 429):
        raise Unavailable("the provider is unavailable; nothing was charged", details={"providerStatus": answer.status})
    if answer.status >= 400:
        raise InvalidArgument(
            "the provider refused the input; nothing was charged", details={"providerStatus": answer.status}
        )
    return interpret(resource, policy, plan, answer)


def _record_failure(inv: Invocation, lease: Lease, code: str) -> None:
    inv.error_code, inv.finished_at = code, timezone.now()
    states.transition(inv, "fail", update_fields=["error_code", "finished_at"])
    audit_record(
        actor_id="system",
        action="invocation.fail",
        object_type="lease",
        object_id=lease.lease_id,
        payload={"invocationId": inv.invocation_id, "error": code},
        parties=[lease.consumer_actor_id, lease.provider_actor_id],
    )
    standing_record_call(resource_pk=inv.resource_id, provider_actor_id=lease.provider_actor_id, error_code=code)


def invoke_fail(*, invocation_id: str, code: str) -> None:
    with tx.atomic():
        inv = _lock(invocation_id)
        if inv.status == INV.PENDING:
            _record_failure(inv, inv.lease, code)


def _lock(invocation_id: str) -> Invocation:
    """The invocation with its lease, both locked (the lease first)."""
    inv = locks.lock_invocation_lease(invocation_id)
    if inv is None:
        raise Invocation.DoesNotExist(invocation_id)
    return inv


def invoke_settle(*, invocation_id: str, units: int | None) -> tuple[Invocation, Lease, int, int, MarketError | None]:
    """Charge the reported usage `units` (the reservation when the provider reported none), billed
    at most up to the reservation and to what remains of the budget; returns the billed units and
    their cost. Nothing is charged when the lease ended meanwhile, or when the call outlived its
    reservation (the stale sweep failed it): the refusal to raise is returned. A unit (market.tx):
    nothing inside carries on after a failure, so the release inside takes no savepoint."""
    with tx.unit():
        inv = _lock(invocation_id)
        lease = inv.lease
        if inv.status != INV.PENDING:
            return inv, lease, 0, 0, Timeout("the call outlived its reservation; nothing was charged")
        if lease.status != Lease.Status.ACTIVE:
            refusal = (
                Expired("the lease has expired")
                if lease.status == Lease.Status.EXPIRED
                else Revoked(f"the lease is {lease.status}", details={"status": lease.status})
            )
            _record_failure(inv, lease, refusal.code)
            return inv, lease, 0, 0, refusal
        reserved_units = inv.reserved_units
        if reserved_units is None:  # reserved before the units were kept
            reserved_units = units_paid_by(inv.reserved, lease)
        billed = reserved_units if units is None else min(units, reserved_units)
        cost = min(cost_minor(billed, lease.unit_price, lease.per_units), inv.reserved)
        if cost > lease.remaining:  # the provider appended usage while the call ran
            cost = lease.remaining
            billed = min(billed, units_paid_by(cost, lease))
        inv.units, inv.reported_units, inv.cost, inv.finished_at = billed, units, cost, timezone.now()
        states.transition(inv, "succeed", save=False)
        charge(
            lease,
            units=billed,
            reported_units=units,
            amount=cost,
            source="proxy",
            usage_ref=inv.invocation_id,
            by_actor_id=lease.consumer_actor_id,
            extra={"invocationId": inv.invocation_id},
            also=(sql.update_statement(inv, ["status", "units", "reported_units", "cost", "finished_at"]),),
        )
        standing_record_call(resource_pk=inv.resource_id, provider_actor_id=lease.provider_actor_id)
        return inv, lease, billed, cost, None


def invocation_stale_sweep() -> dict[str, int]:
    """Fail pending invocations older than reservation_ttl() (their process died mid-call): their
    reservations already stopped counting; this closes them, set-based."""
    cutoff = timezone.now() - reservation_ttl()
    with tx.atomic():
        pks = locks.lock_stale_invocations(cutoff, 5000)
        calls = Invocation.objects.filter(pk__in=pks).values_list("resource_id", "lease__provider_actor_id")
        standing_record_calls([(resource_pk, provider, "E_TIMEOUT") for resource_pk, provider in calls])
        failed = states.bulk_transition(
            Invocation.objects.filter(pk__in=pks), "fail", error_code="E_TIMEOUT", finished_at=timezone.now()
        )
    return {"failed": failed}


def call_or_fail(inv: Invocation, plan: Plan) -> tuple[Any, int | None]:
    """Call the provider for a reserved invocation (no transaction open); a failure is recorded on
    the invocation, charges nothing and is raised as the market's error."""
    try:
        return _call_provider(inv.resource, inv.lease.policy or inv.resource.policy or {}, plan)
    except MarketError as exc:
        invoke_fail(invocation_id=inv.invocation_id, code=exc.code)
        raise
    except Exception as exc:  # noqa: BLE001 - its text may name the endpoint: only the type is logged
        log.error("invocation %s failed unexpectedly: %s", inv.invocation_id, type(exc).__name__)
        invoke_fail(invocation_id=inv.invocation_id, code="E_UNAVAILABLE")
        raise Unavailable("the provider call failed; nothing was charged") from None


def invoke(*, lease_id: str, actor_id: str, input: dict[str, Any]) -> InvokeResult:
    """The whole invocation. Call with no transaction open (the gateway runs this method outside one)."""
    inv, plan = invoke_reserve(lease_id=lease_id, actor_id=actor_id, input=input)
    output, units = call_or_fail(inv, plan)
    inv, lease, billed, cost, refusal = invoke_settle(invocation_id=inv.invocation_id, units=units)
    if refusal is not None:
        raise refusal
    return InvokeResult(output=output, units=billed, cost=cost, lease=lease, reported_units=units)
