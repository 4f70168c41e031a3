from market.models.account_hours import AccountHour, OverviewSnapshot
from market.models.accounts import Account, MaintenanceFlag, Transfer
from market.models.archive import ArchiveGrant, ArchiveObject
from market.models.audit import AuditEvent, AuditHead, AuditParty
from market.models.brain import SessionBrain
from market.models.checkpoints import Checkpoint, CheckpointAnchor, MerkleChunk
from market.models.disputes import Dispute, DisputeEvidence
from market.models.funds import ChainCursor, Deposit, VaultReconciliation, Withdrawal
from market.models.index import IndexReport, ProviderStanding, ResourceStanding
from market.models.leases import Invocation, Lease, UsageEntry
from market.models.limits import MarketLimits
from market.models.monitor import (
    Alert,
    AlertNotification,
    AlertObservation,
    AlertRule,
    MetricReading,
    OperationFailure,
)
from market.models.preferences import BalanceThreshold
from market.models.resources import Resource  # noqa: I001
from market.models.sessions import DebitNote, Session, SessionLine, SpendCounter
from market.models.settlements import Settlement
from market.models.signers import SignerRecord
from market.models.tasks import TaskAward, TaskBid, TaskOrder, TaskReceipt, TaskResult

__all__ = [
    "Account",
    "AccountHour",
    "Alert",
    "AlertNotification",
    "AlertObservation",
    "AlertRule",
    "ArchiveGrant",
    "ArchiveObject",
    "AuditEvent",
    "AuditHead",
    "AuditParty",
    "BalanceThreshold",
    "MarketLimits",
    "ChainCursor",
    "Checkpoint",
    "DebitNote",
    "CheckpointAnchor",
    "Deposit",
    "Dispute",
    "DisputeEvidence",
    "IndexReport",
    "Invocation",
    "Lease",
    "MaintenanceFlag",
    "OverviewSnapshot",
    "MerkleChunk",
    "MetricReading",
    "OperationFailure",
    "ProviderStanding",
    "Resource",
    "ResourceStanding",
    "Session",
    "SessionBrain",
    "SessionLine",
    "Settlement",
    "SignerRecord",
    "SpendCounter",
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
