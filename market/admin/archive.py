"""Read-only admin for the archive's objects and grants: their CIDs, sizes and who may get them,
never their bytes (those stay encrypted in the archive storage)."""

from django.contrib import admin

from market.admin.base import ReadOnlyAdmin
from market.models import ArchiveGrant, ArchiveObject


@admin.register(ArchiveObject)
class ArchiveObjectAdmin(ReadOnlyAdmin):
    list_display = ("cid", "media_type", "size", "created_by", "created_at")
    search_fields = ("cid", "sha256", "created_by")
    list_filter = ("media_type",)


@admin.register(ArchiveGrant)
class ArchiveGrantAdmin(ReadOnlyAdmin):
    list_display = ("object", "actor_id", "reason", "created_at")
    search_fields = ("actor_id", "object__cid")
    list_filter = ("reason",)
    list_select_related = ("object",)
