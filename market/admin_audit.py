"""Read-only admin for audit checkpoints and their chain anchors."""

from django.contrib import admin

from market.admin import ReadOnlyAdmin
from market.models import Checkpoint, CheckpointAnchor


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("tree_size", "root", "created_at", "signer")
    search_fields = ("root",)
    ordering = ("-tree_size",)


@admin.register(CheckpointAnchor)
class CheckpointAnchorAdmin(ReadOnlyAdmin):
    list_display = ("checkpoint", "status", "chain_id", "nonce", "tx_hash", "block_number", "attempts",
                    "last_error", "next_attempt_at", "anchored_at")
    list_filter = ("status", "chain_id")
    search_fields = ("tx_hash",)
    list_select_related = ("checkpoint",)
    exclude = ("raw_tx",)
