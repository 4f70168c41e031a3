"""Lease services: issue, revoke, expiry sweep, and charging usage against a lease's budget.

Lock order: the lease (and its invocation) first, then the settlement and accounts inside the
ledger call, the audit head last. A lease's `spent` always equals its settlement's `released`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from market import locks, sql, states, tx
from market.audit.log import audit_leaf, audit_record, audit_record_many
from market.errors import Conflict, Expired, Forbidden, InvalidArgument, NotFound, Revoked
from market.hashing import object_hash
from market.ids import new_id
from market.models import Lease, Resource, UsageEntry
from market.money import cost_minor, format_amount
from market.services import escrow

SYSTEM = "system"
MAX_TTL_SEC = 30 * 24 * 3600
L = Lease.Status


def lease_hash(lease: Lease, max_cost_text: str | None = None) -> str:
    """Over maxCost as the client wrote it (by default, the amount with the currency's scale)."""
    if max_cost_text is None:
        max_cost_text = format_amount(lease.max_cost, lease.currency)
    return object_hash(
        {
            "leaseId": lease.lease_id,
            "resourceId": lease.resource.resource_id,
            "maxCost": max_cost_text,
            "ttlSec": lease.ttl_sec,
        }
    )


def _lease_payload(lease: Lease, **extra: Any) -> dict[str, Any]:
    c = lease.currency
    return {
        "resourceId": lease.resource.resource_id,
        "consumer": lease.consumer_actor_id,
        "provider": lease.provider_actor_id,
        "status": lease.status,
        "maxCost": format_amount(lease.max_cost, c),
        "spent": format_amount(lease.spent, c),
        "currency": c,
        "settlementId": lease.settlement.settlement_id if lease.settlement_id else None,
        **({"sessionId": lease.session.session_id} if lease.session_id else {}),
        **extra,
    }


def lease_issue(
    *,
    resource_id: str,
    consumer_actor_id: str,
    max_cost: int,
    currency: str,
    ttl_sec: int,
    max_cost_text: str | None = None,
    resource: Resource | None = None,
) -> Lease:
    """Lock `max_cost` (minor units of `currency`, which must be the resource's) of the consumer's
    balance for the provider; the price is fixed now. The lease's hash covers maxCost as the client
    wrote it (`max_cost_text`; by default the amount with the currency's scale). A resource whose
    currency is no longer `currency` (its pricing changed since the caller read it) is E_CONFLICT.
    `resource`: the resource's row as the caller read it in the transaction this runs in (to learn
    its currency), so that it is not read twice; read here otherwise."""
    if not 1 <= ttl_sec <= MAX_TTL_SEC:
        raise InvalidArgument.field("ttlSec", f"must be between 1 and {MAX_TTL_SEC}")
    with tx.atomic():
        if resource is None or resource.resource_id != resource_id:
            resource = Resource.objects.filter(resource_id=resource_id).first()
        if resource is None:
            raise NotFound("no such resource")
        if resource.status != Resource.Status.PUBLISHED:
            raise Conflict("the resource is unpublished: it takes no new leases", details={"status": resource.status})
        if resource.provider_actor_id == consumer_actor_id:
            raise Forbidden("a provider cannot lease its own resource")
        if resource.currency != currency:
            raise Conflict(
                "the resource's pricing changed to another currency; read it and try again",
                details={"currency": resource.currency},
            )
        if max_cost <= 0:
            raise InvalidArgument.field("maxCost", "must be positive")
        lease_id = new_id("lease")
        settlement = escrow.escrow_lock(
            payer_actor_id=consumer_actor_id,
            payee_actor_id=resource.provider_actor_id,
            amount=max_cost,
            currency=resource.currency,
            by_actor_id=consumer_actor_id,
            reference=f"lease:{lease_id}",
        )
        now = timezone.now()
        lease = Lease(
            lease_id=lease_id,
            resource=resource,
            consumer_actor_id=consumer_actor_id,
            provider_actor_id=resource.provider_actor_id,
            unit=resource.unit,
            unit_price=resource.unit_price,
            currency=resource.currency,
            policy=resource.policy,
            max_cost=max_cost,
            ttl_sec=ttl_sec,
            expires_at=now + timedelta(seconds=ttl_sec),
            settlement=settlement,
        )
        lease.hash = lease_hash(lease, max_cost_text)
        lease.save()
        audit_record(
            actor_id=consumer_actor_id,
            action="lease.issue",
            object_type="lease",
            object_id=lease_id,
            payload=_lease_payload(lease, expiresAt=lease.expires_at.isoformat()),
            parties=[consumer_actor_id, lease.provider_actor_id],
        )
        return lease


def lock_lease(lease_id: str, actor_id: str, *, is_staff: bool = False) -> Lease:
    """The lease, locked; E_NOT_FOUND for anyone but its parties (and staff)."""
    lease = locks.lock_lease(lease_id=lease_id)
    if lease is None or not (is_staff or actor_id in (lease.consumer_actor_id, lease.provider_actor_id)):
        raise NotFound("no such lease")
    return lease


def require_active(lease: Lease, now=None) -> None:
    """E_REVOKED for a revoked or exhausted lease, E_EXPIRED past expiresAt (even before a sweep)."""
    if lease.status in (L.REVOKED, L.EXHAUSTED):
        raise Revoked(f"the lease is {lease.status}", details={"status": lease.status})
    if lease.status == L.EXPIRED or lease.expires_at <= (now or timezone.now()):
        raise Expired(
            "the lease has expired", details={"status": lease.status, "expiresAt": lease.expires_at.isoformat()}
        )


def _end(lease: Lease, verb: str, *, by_actor_id: str, now) -> Lease:
    """Move an active, locked lease to its end state and refund what remains of its budget."""
    lease.ended_at = now
    states.transition(lease, verb, update_fields=["ended_at"])
    # Read with the lease's lock (locks.lock_lease); none inside a session. The refund locks it and
    # checks it again there.
    settlement = lease.settlement
    if settlement is not None and settlement.is_open:
        lease.settlement = escrow.escrow_refund(
            settlement_id=settlement.settlement_id,
            by_actor_id=by_actor_id,
            reason=f"lease {verb}",
            reference=f"lease:{lease.lease_id}",
        )
    audit_record(
        actor_id=by_actor_id,
        action=f"lease.{verb}",
        object_type="lease",
        object_id=lease.lease_id,
        payload=_lease_payload(lease),
        parties=[lease.consumer_actor_id, lease.provider_actor_id],
    )
    return lease


def lease_revoke(*, lease_id: str, actor_id: str, is_staff: bool = False) -> Lease:
    """The consumer or the provider ends the lease; the unspent budget goes back to the consumer."""
    with tx.atomic():
        lease = lock_lease(lease_id, actor_id, is_staff=is_staff)
        if actor_id not in (lease.consumer_actor_id, lease.provider_actor_id):
            raise Forbidden("only the lease's consumer or provider may revoke it")
        require_active(lease)
        return _end(lease, "revoke", by_actor_id=actor_id, now=timezone.now())


def lease_expire_sweep(*, batch_size: int = 1000, as_of=None) -> dict[str, int]:
    """Expire every active lease past expiresAt and settle it (used part released as it was used,
    the rest refunded). Set-based, in batches: one bulk transition for the leases, one set-based
    refund for their settlements, the audit events appended together. skip_locked: two sweeps at
    once share the work, and a lease being revoked meanwhile is left to the revoke. `as_of`: the
    clock to compare with (default now)."""
    expired = 0
    while True:
        now = as_of or timezone.now()
        with transaction.atomic():
            batch = locks.lock_expired_leases(now, batch_size)
            if not batch:
                break
            moved = states.bulk_transition(
                Lease.objects.filter(pk__in=[row[0] for row in batch]), "expire", ended_at=now, updated_at=now
            )
            refunded = {
                s.settlement_id: s.refunded
                for s in escrow.escrow_refund_many(
                    settlement_ids=[row[2] for row in batch], by_actor_id=SYSTEM, reason="lease expired"
                )
            }
            audit_record_many(
                [
                    {
                        "actor_id": SYSTEM,
                        "action": "lease.expire",
                        "object_type": "lease",
                        "object_id": lease_id,
                        "parties": [consumer, provider],
                        "payload": {
                            "status": L.EXPIRED,
                            "spent": format_amount(spent, currency),
                            "refunded": format_amount(refunded.get(settlement_id, 0), currency),
                            "currency": currency,
                            "settlementId": settlement_id,
                        },
                    }
                    for _, lease_id, settlement_id, consumer, provider, spent, currency in batch
                ]
            )
            expired += moved
    return {"expired": expired}


def units_paid_by(amount: int, lease: Lease) -> int:
    """The most whole units `amount` pays for at the lease's price (0 at a zero price: nothing is
    ever capped by the budget then)."""
    if lease.unit_price == 0:
        return 0
    return amount * lease.per_units // lease.unit_price


def charge(
    lease: Lease,
    *,
    units: int,
    amount: int,
    source: str,
    usage_ref: str,
    by_actor_id: str,
    reported_units: int | None = None,
    extra: dict[str, Any] | None = None,
    also: tuple[sql.Part, ...] = (),
) -> UsageEntry:
    """Charge `amount` (<= what remains) for `units` billed to an active, locked lease: a partial
    release to the provider and its usage entry, which keeps `reported_units` beside the billed
    ones; a lease whose budget is spent becomes lease_exhausted. `also`: the caller's other writes,
    written with the entry (one statement on PostgreSQL)."""
    if amount > lease.remaining:
        raise AssertionError("charge beyond the lease's budget")
    transfer = None
    if amount > 0:
        lease.settlement, transfer = escrow.escrow_release_transfer(
            settlement_id=lease.settlement.settlement_id,
            by_actor_id=by_actor_id,
            amount=amount,
            reason=f"usage ({source})",
            reference=f"lease:{lease.lease_id}",
        )
    entry = UsageEntry(
        entry_id=transfer.transfer_id if transfer else new_id("use"),
        lease=lease,
        transfer=transfer,
        source=source,
        units=units,
        reported_units=reported_units,
        amount=amount,
        usage_ref=usage_ref,
    )
    lease.spent += amount
    changed = ["spent", "updated_at"]
    if lease.spent == lease.max_cost:
        lease.ended_at = timezone.now()
        states.transition(lease, "exhaust", save=False)
        changed += ["status", "ended_at"]
    leaf = audit_leaf(
        actor_id=by_actor_id,
        action="lease.usage",
        object_type="lease",
        object_id=lease.lease_id,
        payload={
            "entryId": entry.entry_id,
            "source": source,
            "units": units,
            "reportedUnits": reported_units,
            "usageRef": usage_ref,
            "amount": format_amount(amount, lease.currency),
            "currency": lease.currency,
            "status": lease.status,
            **(extra or {}),
        },
        parties=[lease.consumer_actor_id, lease.provider_actor_id],
    )
    # The entry with the lease's new spend (and state) and the leaf: one statement on PostgreSQL.
    sql.insert_with(entry, sql.update_statement(lease, changed), leaf, *also)
    return entry


def usage_append(*, lease_id: str, actor_id: str, units: int, usage_ref: str, is_staff: bool = False) -> UsageEntry:
    """Gate-LEDGER-01: only the lease's provider adds usage the proxy cannot see; the amount comes
    from the lease's price. The same usageRef again returns the first entry (other units: E_CONFLICT);
    beyond the remaining budget it charges what remains and exhausts the lease, and the entry bills
    only the units that amount pays for (the reported units are kept beside them). The entry's
    `lease` is the lease as it stands after the charge."""
    if units <= 0:
        raise InvalidArgument.field("units", "must be positive")
    with tx.atomic():
        lease = lock_lease(lease_id, actor_id, is_staff=is_staff)
        if actor_id != lease.provider_actor_id:
            raise Forbidden("only the lease's provider may append usage to the ledger")
        if lease.session_id is not None:
            raise Conflict("a lease inside a session is metered by the market's proxy only")
        first = UsageEntry.objects.filter(lease=lease, usage_ref=usage_ref).first()
        if first is not None:
            reported = first.units if first.reported_units is None else first.reported_units
            if reported != units or first.source != UsageEntry.Source.PROVIDER:
                raise Conflict(
                    "this usageRef was recorded with other units", details={"usageRef": usage_ref, "units": reported}
                )
            first.lease = lease
            return first
        require_active(lease)
        amount, billed = cost_minor(units, lease.unit_price, lease.per_units), units
        if amount > lease.remaining:
            amount = lease.remaining
            billed = min(units, units_paid_by(amount, lease))
        return charge(
            lease,
            units=billed,
            reported_units=units,
            amount=amount,
            source=UsageEntry.Source.PROVIDER,
            usage_ref=usage_ref,
            by_actor_id=actor_id,
        )
