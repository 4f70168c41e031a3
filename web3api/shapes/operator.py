"""The operator's figures on the wire (web3.admin.overview|resources|leases|ledger|disputes), built
from market.selectors.operator and operator_lists."""

from __future__ import annotations

from rest_framework import serializers

from market.models import Alert, AlertRule, Lease, Settlement, Transfer
from market.selectors.index import HEALTH_STATES
from market.selectors.operator import WAITING_FOR
from market.selectors.operator_lists import SYNC_STATES
from web3api.money import AmountOut, AmountsByCurrencyOut
from web3api.shapes.audit import CheckpointSerializer, EventSerializer
from web3api.shapes.disputes import DisputeOut
from web3api.shapes.leases import LeaseSerializer
from web3api.shapes.ledger import SettlementSerializer
from web3api.shapes.resources import ResourceSerializer
from web3api.shapes.status import PartSerializer
from web3api.status import STATES


# Built from market.selectors.operator.QueuedSettlement.
class QueuedSettlementOut(serializers.Serializer):
    settlement = SettlementSerializer()
    objectType = serializers.CharField(source="object_type", help_text="lease or task (what holds the settlement).")
    objectId = serializers.CharField(source="object_id")
    waitingFor = serializers.ChoiceField(
        source="waiting_for",
        choices=list(WAITING_FOR),
        help_text="; ".join(f"{code}: {text}" for code, text in WAITING_FOR.items()),
    )
    dueAt = serializers.DateTimeField(source="due_at", allow_null=True, help_text="When what it waits for is due.")
    overdue = serializers.BooleanField(help_text="True once dueAt has passed by more than a sweep's grace.")
    ageSec = serializers.IntegerField(source="age_sec")


class SettlementQueueOut(serializers.Serializer):
    open = serializers.IntegerField(source="open_settlements")
    byAge = serializers.DictField(
        source="open_by_age",
        child=serializers.IntegerField(),
        help_text="Open settlements by age: lt1h, lt24h, lt7d, older.",
    )
    locked = AmountsByCurrencyOut(source="locked_by_currency", help_text="Still held by open settlements.")
    oldest = QueuedSettlementOut(many=True, source="queue", help_text="The oldest open settlements (at most 10).")


class VolumeOut(serializers.Serializer):
    last24h = AmountsByCurrencyOut(source="volume_24h", help_text="Released by escrow to payees in the last 24 h.")
    last7d = AmountsByCurrencyOut(source="volume_7d")


class SupplyOut(serializers.Serializer):
    published = serializers.IntegerField()
    unpublished = serializers.IntegerField()
    byKind = serializers.DictField(child=serializers.IntegerField(), help_text="Published resources by kind.")
    activeLeases = serializers.IntegerField()
    stuckLeases = serializers.IntegerField(help_text="Active leases past their expiry by more than the sweep's grace.")


class DisputeFiguresOut(serializers.Serializer):
    open = serializers.IntegerField()
    appealed = serializers.IntegerField()
    awaitingPayout = serializers.IntegerField(help_text="Ruled, not paid out yet.")
    oldestAgeSec = serializers.IntegerField(allow_null=True, help_text="Age of the oldest dispute awaiting a ruling.")


# A firing Alert, without its observations (web3.monitor.history has them).
class FiringAlertOut(serializers.Serializer):
    alertId = serializers.CharField(source="alert_id")
    rule = serializers.CharField(source="rule.name")
    severity = serializers.ChoiceField(choices=AlertRule.Severity.values)
    status = serializers.ChoiceField(choices=Alert.Status.values)
    silenced = serializers.BooleanField()
    metric = serializers.CharField()
    lastValue = serializers.FloatField(source="last_value")
    firedAt = serializers.DateTimeField(source="fired_at")


class AuditFiguresOut(serializers.Serializer):
    lastCheckpoint = CheckpointSerializer(allow_null=True)
    unsealed = serializers.IntegerField(help_text="Audit events not yet in a checkpoint.")
    unsealedAgeSec = serializers.IntegerField()
    anchorsWaiting = serializers.IntegerField()
    anchorLagSec = serializers.IntegerField(help_text="Age of the oldest checkpoint not yet anchored (0: none).")
    lastAnchorError = serializers.CharField(allow_null=True)


class MonitorCountOut(serializers.Serializer):
    monitor = serializers.CharField()
    count = serializers.IntegerField()


class InvariantsOut(serializers.Serializer):
    state = serializers.ChoiceField(choices=["ok", "violated", "unknown"], help_text="unknown: not read yet.")
    violations = serializers.IntegerField()
    measuredAt = serializers.DateTimeField(allow_null=True, help_text="When the monitor job last read them.")
    monitors = MonitorCountOut(many=True, help_text="The broken monitors and how many objects each names.")


class FailedSweepOut(serializers.Serializer):
    job = serializers.CharField()
    failures = serializers.IntegerField(help_text="Failures in the last day.")
    lastFailedAt = serializers.DateTimeField()


class StatusOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATES, help_text="The worst of the parts.")
    parts = serializers.DictField(child=PartSerializer(), help_text="Part name -> state and message.")


# Built from market.selectors.operator.Overview, with `market_status` (web3api.status.Summary).
class OverviewFigures(serializers.Serializer):
    checkedAt = serializers.DateTimeField(source="now")
    status = StatusOut(source="market_status", help_text="web3.status.summary: the market's health by part.")
    settlements = SettlementQueueOut(source="*")
    volume = VolumeOut(source="*")
    supply = SupplyOut()
    disputes = DisputeFiguresOut()
    alerts = FiringAlertOut(many=True, help_text="Unresolved alerts (firing or acknowledged), P0 first.")
    audit = AuditFiguresOut(help_text="Sealing and anchoring.")
    invariants = InvariantsOut()
    failedSweeps = FailedSweepOut(
        many=True, source="failed_sweeps", help_text="Money sweeps that failed in the last day (web3.admin.leases)."
    )


class OverviewResult(OverviewFigures):
    """The figures as web3api.overview stores them (already JSON values): passed through as they are."""

    computedAt = serializers.DateTimeField(help_text="When the figures were computed (the same as checkedAt).")
    tookMs = serializers.IntegerField(help_text="How long computing them took.")
    stored = serializers.BooleanField(
        help_text="Read back from the monitor.overview job's store (false: computed now)."
    )

    def to_representation(self, instance):
        return dict(instance)


# Built from a Resource as operator_resources_shown gives it.
class OperatorResourceOut(ResourceSerializer):
    health = serializers.ChoiceField(choices=HEALTH_STATES)
    indexSync = serializers.ChoiceField(
        source="index_sync",
        choices=SYNC_STATES,
        help_text="in_sync; outdated (changed since its newest index report); stale (that report is over an hour "
        "old); unreported.",
    )
    lastReportedAt = serializers.DateTimeField(source="last_reported_at", allow_null=True)
    activeLeases = serializers.IntegerField(source="active_leases")
    recentCalls = serializers.IntegerField(source="recent_calls", help_text="Finished calls in the last hour.")
    recentFailures = serializers.IntegerField(source="recent_failures", help_text="Of them, the provider's faults.")


class OperatorResourcesResult(serializers.Serializer):
    items = OperatorResourceOut(many=True)
    nextCursor = serializers.CharField(allow_null=True)


# Built from a Lease as operator_leases annotates it.
class OperatorLeaseOut(LeaseSerializer):
    settlement = SettlementSerializer(
        allow_null=True, help_text="null for a lease issued inside a session: it draws on the session's."
    )
    spentBps = serializers.IntegerField(source="spent_bps", help_text="spent / maxCost in basis points.")
    stuck = serializers.BooleanField(help_text="Active, past its expiry by more than the sweep's grace.")


class OperatorLeasesResult(serializers.Serializer):
    items = OperatorLeaseOut(many=True)
    nextCursor = serializers.CharField(allow_null=True)
    stuck = serializers.IntegerField(help_text="Stuck leases in the whole market.")
    failedSweeps = FailedSweepOut(many=True, help_text="Money sweeps that failed in the last day: retry them.")


class AccountSideOut(serializers.Serializer):
    actorId = serializers.CharField(source="actor_id")
    kind = serializers.CharField()


# Built from a Transfer with its accounts and settlement (operator_transfers).
class OperatorTransferOut(serializers.Serializer):
    transferId = serializers.CharField(source="transfer_id")
    code = serializers.ChoiceField(choices=Transfer.Code.values)
    kind = serializers.ChoiceField(choices=Transfer.Kind.values)
    amount = AmountOut()
    currency = serializers.CharField()
    debit = AccountSideOut(source="debit_account")
    credit = AccountSideOut(source="credit_account")
    reference = serializers.CharField(allow_blank=True)
    settlementId = serializers.CharField(source="settlement.settlement_id", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")


# An AuditEvent with the `tree_size` of its covering checkpoint.
class CheckpointedEventOut(EventSerializer):
    treeSize = serializers.IntegerField(
        source="tree_size",
        allow_null=True,
        help_text="The first checkpoint covering it (its inclusion proof: web3.audit.proof); null while unsealed.",
    )


class TraceOut(serializers.Serializer):
    objectType = serializers.CharField(source="object_type")
    objectId = serializers.CharField(source="object_id")
    events = CheckpointedEventOut(many=True, help_text="Oldest first.")
    transfers = OperatorTransferOut(many=True, help_text="Transfers naming the object (lease, task, settlement).")


class OperatorLedgerResult(serializers.Serializer):
    items = OperatorTransferOut(many=True, help_text="Transfers, newest first.")
    nextCursor = serializers.CharField(allow_null=True)
    recentEvents = CheckpointedEventOut(many=True, help_text="The newest audit events (at most 20).")
    checkpoint = CheckpointSerializer(allow_null=True, help_text="The newest signed checkpoint.")
    trace = TraceOut(allow_null=True, help_text="The object named by traceType and traceId, if asked.")


# Built from a Dispute as operator_disputes_shown gives it.
class OperatorDisputeOut(DisputeOut):
    amount = AmountOut(help_text="The receipt's amount in dispute.")
    currency = serializers.CharField()
    evidenceCount = serializers.SerializerMethodField()
    ageSec = serializers.IntegerField(source="age_sec")

    def get_evidenceCount(self, dispute) -> int:  # noqa: N802 - DRF names it after the field
        return len(dispute.evidence_in_order)


class OperatorDisputesResult(serializers.Serializer):
    items = OperatorDisputeOut(many=True)
    nextCursor = serializers.CharField(allow_null=True)


LEASE_STATUSES = Lease.Status.values
SETTLEMENT_STATUSES = Settlement.Status.values
