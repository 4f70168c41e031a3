"""Read-only admin for the ledger: accounts, transfers, settlements, the maintenance flag and the
actors' low-balance thresholds."""

from django.contrib import admin

from market.admin.base import ReadOnlyAdmin
from market.models import Account, AccountHour, BalanceThreshold, MaintenanceFlag, Settlement, Transfer


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
    money = dict.fromkeys(("credits_posted", "debits_posted", "debits_pending", "credits_pending"), "currency")


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
    money = {"amount": "currency"}


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
    money = dict.fromkeys(("locked", "released", "refunded"), "currency")


@admin.register(MaintenanceFlag)
class MaintenanceFlagAdmin(ReadOnlyAdmin):
    """Shown so an operator can see whether DELETE is currently allowed; set only by tooling."""

    list_display = ("id", "allow_delete")


@admin.register(BalanceThreshold)
class BalanceThresholdAdmin(ReadOnlyAdmin):
    """The low-balance notices actors set on their dashboards."""

    list_display = ("actor_id", "currency", "amount", "updated_at")
    list_filter = ("currency",)
    search_fields = ("actor_id",)
    money = {"amount": "currency"}


@admin.register(AccountHour)
class AccountHourAdmin(ReadOnlyAdmin):
    """The hourly totals of settled transfers the dashboards read (written by the ledger)."""

    list_display = ("account", "hour", "counterparty", "resource_ref", "currency", "income", "expense", "count")
    list_filter = ("currency",)
    list_select_related = ("account", "counterparty")
    money = {"income": "currency", "expense": "currency"}
