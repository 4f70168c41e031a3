"""Read-only admin for the audit log: events, the head, parties, checkpoints, Merkle chunks and
chain anchors, and the signer history of the keys that sign them."""

from django.contrib import admin

from market.admin.base import ReadOnlyAdmin
from market.models import (
    AuditEvent,
    AuditHead,
    AuditParty,
    Checkpoint,
    CheckpointAnchor,
    MerkleChunk,
    SignerRecord,
)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "event_id", "action", "object_type", "object_id", "actor_id", "created_at")
    list_filter = ("action", "object_type")
    search_fields = ("event_id", "actor_id", "parties__actor_id", "object_id", "action")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("tree_size", "root", "created_at", "signer")
    search_fields = ("root",)
    ordering = ("-tree_size",)


@admin.register(CheckpointAnchor)
class CheckpointAnchorAdmin(ReadOnlyAdmin):
    list_display = (
        "checkpoint",
        "status",
        "chain_id",
        "nonce",
        "tx_hash",
        "block_number",
        "attempts",
        "last_error",
        "next_attempt_at",
        "anchored_at",
    )
    list_filter = ("status", "chain_id")
    search_fields = ("tx_hash",)
    list_select_related = ("checkpoint",)
    exclude = ("raw_tx",)


@admin.register(MerkleChunk)
class MerkleChunkAdmin(ReadOnlyAdmin):
    list_display = ("level", "index", "root")
    list_filter = ("level",)
    ordering = ("level", "index")


class AuditHeadAdmin(ReadOnlyAdmin):
    list_display = ("id", "next_seq", "last_hash")


class AuditPartyAdmin(ReadOnlyAdmin):
    list_display = ("event", "actor_id")
    search_fields = ("actor_id", "event__event_id")
    list_select_related = ("event",)


for model, model_admin in ((AuditHead, AuditHeadAdmin), (AuditParty, AuditPartyAdmin)):
    if not admin.site.is_registered(model):
        admin.site.register(model, model_admin)


@admin.register(SignerRecord)
class SignerRecordAdmin(ReadOnlyAdmin):
    list_display = ("purpose", "address", "from_tree_size", "recorded_at")
    list_filter = ("purpose",)
    search_fields = ("address",)
    ordering = ("-pk",)
