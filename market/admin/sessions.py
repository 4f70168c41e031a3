"""Read-only admin for agent sessions, their lines, debit notes, brains and the delegations' spend counters."""

from django.contrib import admin

from market.admin.base import ReadOnlyAdmin
from market.models import DebitNote, Session, SessionBrain, SessionLine, SpendCounter


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("session_id", "owner_actor_id", "agent_label", "mode", "budget", "accrued", "currency", "status")
    list_filter = ("status", "mode", "currency")
    search_fields = ("session_id", "owner_actor_id", "agent_token_id")
    fields = (
        "session_id",
        "owner_actor_id",
        "delegation_id",
        "agent_token_id",
        "agent_label",
        "label",
        "mode",
        "currency",
        "budget",
        "accrued",
        "released",
        "policy",
        "settlement",
        "status",
        "expires_at",
        "approval_expires_at",
        "settled_at",
        "created_at",
    )
    readonly_fields = fields
    money = {"budget": "currency", "accrued": "currency", "released": "currency"}


@admin.register(SessionLine)
class SessionLineAdmin(ReadOnlyAdmin):
    list_display = ("session", "provider_actor_id", "units", "accrued", "released")
    search_fields = ("provider_actor_id",)
    fields = ("session", "provider_actor_id", "units", "accrued", "released", "updated_at")
    readonly_fields = fields


@admin.register(DebitNote)
class DebitNoteAdmin(ReadOnlyAdmin):
    list_display = ("note_id", "session", "provider_actor_id", "units", "amount", "created_at")
    search_fields = ("note_id", "provider_actor_id", "usage_ref")
    fields = ("note_id", "session", "lease", "provider_actor_id", "usage_ref", "units", "reported_units", "amount")
    readonly_fields = fields


@admin.register(SpendCounter)
class SpendCounterAdmin(ReadOnlyAdmin):
    list_display = ("delegation_id", "currency", "day", "provider_actor_id", "amount")
    search_fields = ("delegation_id", "provider_actor_id")
    fields = ("delegation_id", "currency", "day", "provider_actor_id", "amount")
    readonly_fields = fields


@admin.register(SessionBrain)
class SessionBrainAdmin(ReadOnlyAdmin):
    list_display = ("session", "source", "resource", "model", "reason", "failures", "resolved_at")
    list_filter = ("source",)
    search_fields = ("session__session_id", "resource__resource_id")
    fields = ("session", "source", "resource", "lease", "model", "reason", "failures", "resolutions", "resolved_at")
    readonly_fields = fields
