from market.models.accounts import Account, MaintenanceFlag, Transfer
from market.models.audit import AuditEvent, AuditHead, AuditParty
from market.models.checkpoints import Checkpoint, CheckpointAnchor, MerkleChunk
from market.models.disputes import Dispute, DisputeEvidence
from market.models.funds import ChainCursor, Deposit, VaultReconciliation, Withdrawal
from market.models.index import IndexReport
from market.models.leases import Invocation, Lease, UsageEntry
from market.models.monitor import (
    Alert,
    AlertNotification,
    AlertObservation,
    AlertRule,
    MetricReading,
    OperationFailure,
)
from market.models.resources import Resource  # noqa: I001
from market.models.settlements import Settlement
from market.models.tasks import TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult

__all__ = [
    "Account",
    "Alert",
    "AlertNotification",
    "AlertObservation",
    "AlertRule",
    "AuditEvent",
    "AuditHead",
    "AuditParty",
    "ChainCursor",
    "Checkpoint",
    "CheckpointAnchor",
    "Deposit",
    "Dispute",
    "DisputeEvidence",
    "IndexReport",
    "Invocation",
    "Lease",
    "MaintenanceFlag",
    "MerkleChunk",
    "MetricReading",
    "OperationFailure",
    "Resource",
    "Settlement",
    "TaskAward",
    "TaskBid",
    "TaskOrder",
    "TaskReceipt",
    "TaskResult",
    "Transfer",
    "UsageEntry",
    "VaultReconciliation",
    "Withdrawal",
]
