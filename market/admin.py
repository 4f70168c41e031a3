"""Read-only admin for the authoritative tables: they change only through the services."""

from django.contrib import admin

from market.models import Account, AuditEvent, MaintenanceFlag, Settlement, Transfer


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = (
        "actor_id",
        "currency",
        "kind",
        "credits_posted",
        "debits_posted",
        "debits_pending",
        "credits_pending",
    )
    list_filter = ("currency", "kind")
    search_fields = ("actor_id",)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = (
        "transfer_id",
        "code",
        "kind",
        "amount",
        "currency",
        "debit_account",
        "credit_account",
        "reference",
        "created_at",
    )
    list_filter = ("code", "kind", "currency")
    search_fields = (
        "transfer_id",
        "reference",
        "debit_account__actor_id",
        "credit_account__actor_id",
        "settlement__settlement_id",
    )
    list_select_related = ("debit_account", "credit_account")


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = (
        "settlement_id",
        "status",
        "currency",
        "payer_actor_id",
        "payee_actor_id",
        "locked",
        "released",
        "refunded",
        "reference",
        "created_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("settlement_id", "payer_actor_id", "payee_actor_id", "reference")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "event_id", "action", "object_type", "object_id", "actor_id", "created_at")
    list_filter = ("action", "object_type")
    search_fields = ("event_id", "actor_id", "parties__actor_id", "object_id", "action")


@admin.register(MaintenanceFlag)
class MaintenanceFlagAdmin(ReadOnlyAdmin):
    """Shown so an operator can see whether DELETE is currently allowed; set only by tooling."""

    list_display = ("id", "allow_delete")


from market import (  # noqa: E402  (each module registers its admin classes)
    admin_audit,  # noqa: F401  (audit checkpoints and anchors)
    admin_monitor,  # noqa: F401  (alert rules, alerts, notifications)
    admin_resources,  # noqa: F401  (resources, leases, usage, index)
    admin_tasks,  # noqa: F401  (task market and disputes)
)
