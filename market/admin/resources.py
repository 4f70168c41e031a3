"""Read-only admin for resources, leases, invocations, usage and index reports. A resource's
sealed endpoint and token are never shown (not even encrypted)."""

from django.contrib import admin

from market.admin.base import ReadOnlyAdmin
from market.models import IndexReport, Invocation, Lease, ProviderStanding, Resource, ResourceStanding, UsageEntry


@admin.register(Resource)
class ResourceAdmin(ReadOnlyAdmin):
    list_display = (
        "resource_id",
        "name",
        "kind",
        "backend",
        "provider_actor_id",
        "unit",
        "unit_price",
        "currency",
        "status",
        "created_at",
    )
    list_filter = ("status", "kind", "backend", "currency")
    search_fields = ("resource_id", "name", "provider_actor_id")
    fields = (
        "resource_id",
        "provider_actor_id",
        "kind",
        "name",
        "description",
        "backend",
        "unit",
        "unit_price",
        "currency",
        "policy",
        "tags",
        "hash",
        "status",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    money = {"unit_price": "currency"}


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = (
        "lease_id",
        "resource",
        "consumer_actor_id",
        "provider_actor_id",
        "status",
        "max_cost",
        "spent",
        "currency",
        "expires_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("lease_id", "consumer_actor_id", "provider_actor_id", "resource__resource_id")
    list_select_related = ("resource",)
    money = dict.fromkeys(("unit_price", "max_cost", "spent"), "currency")


@admin.register(Invocation)
class InvocationAdmin(ReadOnlyAdmin):
    list_display = ("invocation_id", "lease", "status", "reserved", "units", "cost", "error_code", "started_at")
    list_filter = ("status", "error_code")
    search_fields = ("invocation_id", "lease__lease_id")
    list_select_related = ("lease",)
    money = dict.fromkeys(("reserved", "cost"), "lease__currency")


@admin.register(UsageEntry)
class UsageEntryAdmin(ReadOnlyAdmin):
    list_display = ("entry_id", "lease", "source", "units", "amount", "usage_ref", "created_at")
    list_filter = ("source",)
    search_fields = ("entry_id", "usage_ref", "lease__lease_id")
    list_select_related = ("lease",)
    money = {"amount": "lease__currency"}


@admin.register(IndexReport)
class IndexReportAdmin(ReadOnlyAdmin):
    list_display = ("report_id", "resource", "provider_actor_id", "reported_at", "created_at")
    search_fields = ("report_id", "provider_actor_id", "resource__resource_id")
    list_select_related = ("resource",)


@admin.register(ResourceStanding)
class ResourceStandingAdmin(ReadOnlyAdmin):
    list_display = (
        "resource",
        "last_reported_at",
        "window_start",
        "window_calls",
        "window_faults",
        "prior_calls",
        "prior_faults",
        "degraded_from",
        "degraded_until",
    )
    search_fields = ("resource__resource_id",)
    list_select_related = ("resource",)


@admin.register(ProviderStanding)
class ProviderStandingAdmin(ReadOnlyAdmin):
    list_display = ("actor_id", "calls", "faults")
    search_fields = ("actor_id",)
