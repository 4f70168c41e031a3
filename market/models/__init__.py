from market.models.accounts import Account, MaintenanceFlag, Transfer
from market.models.audit import AuditEvent, AuditHead, AuditParty, audit_record
from market.models.settlements import Settlement

__all__ = [
    "Account",
    "AuditEvent",
    "AuditHead",
    "AuditParty",
    "MaintenanceFlag",
    "Settlement",
    "Transfer",
    "audit_record",
]
