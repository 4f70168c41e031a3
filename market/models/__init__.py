from market.models.accounts import Account, MaintenanceFlag, Transfer
from market.models.audit import AuditEvent, AuditHead, audit_record
from market.models.settlements import Settlement

__all__ = [
    "Account",
    "AuditEvent",
    "AuditHead",
    "MaintenanceFlag",
    "Settlement",
    "Transfer",
    "audit_record",
]
