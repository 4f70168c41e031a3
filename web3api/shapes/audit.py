"""The audit log's objects on the wire: AuditEvent (as hashed, and as listed with `sealed`),
Checkpoint, CheckpointAnchor, a ruling's Seal and an inclusion Proof (market.selectors.audit).

Class names are kept as the OpenAPI components clients know them by (EventSerializer is the
`Event` component)."""

from __future__ import annotations

from rest_framework import serializers

from web3api.serializers import HEX64_PATTERN


# The event as hashed: every field a verifier needs, its time in the exact hashed text.
class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField(
        allow_null=True,
        help_text="Position in the log; also the Merkle leaf index. Null (with prevHash and hash) until the "
        "sequencer has given the committed event its position, within seconds; contentHash is known at once.",
    )
    eventId = serializers.CharField(source="event_id")
    actorId = serializers.CharField(source="actor_id", help_text="Who acted: a wallet address or `system`.")
    action = serializers.CharField()
    objectType = serializers.CharField(source="object_type")
    objectId = serializers.CharField(source="object_id")
    payload = serializers.CharField(help_text="RFC 8785 canonical JSON text of the redacted payload.")
    payloadSha256 = serializers.CharField(source="payload_sha256")
    contentHash = serializers.CharField(
        source="content_hash",
        help_text="sha256 of the RFC 8785 JSON of {eventId, actorId, action, objectType, objectId, payloadSha256, "
        "createdAt}: the event without its position, fixed when it is written.",
    )
    prevHash = serializers.CharField(
        source="prev_hash", allow_null=True, help_text="Hash of the previous event (64 zeros for seq 0)."
    )
    createdAt = serializers.CharField(
        source="created_text", help_text="UTC time, exactly as hashed: YYYY-MM-DDTHH:MM:SS.ffffffZ."
    )
    hash = serializers.CharField(
        allow_null=True, help_text="sha256 of the RFC 8785 JSON of the event's fields with its position (see proof)."
    )


# An event of market.selectors.audit.audit_events or audit_trace, which annotate `sealed`.
class ListedEventSerializer(EventSerializer):
    sealed = serializers.BooleanField(help_text="True once a signed checkpoint covers it (proof available).")


class CheckpointSerializer(serializers.Serializer):
    treeSize = serializers.IntegerField(source="tree_size")
    root = serializers.RegexField(HEX64_PATTERN)
    createdAt = serializers.CharField(source="created_text")
    signature = serializers.CharField(help_text="0x EIP-191 personal_sign of `statement`.")
    signer = serializers.CharField(help_text="Lowercase address of the market's checkpoint key.")
    statement = serializers.CharField(help_text="openclaw-checkpoint/v1\\n<treeSize>\\n<root>\\n<createdAt>")


# A CheckpointAnchor that has its transaction (the selectors show no other).
class AnchorOut(serializers.Serializer):
    txHash = serializers.CharField(source="tx_hash")
    chainId = serializers.IntegerField(source="chain_id")
    status = serializers.ChoiceField(choices=["signed", "sent", "anchored", "failed"], source="get_status_display")
    blockNumber = serializers.IntegerField(source="block_number", allow_null=True)


class SealOut(serializers.Serializer):
    sealed = serializers.BooleanField(
        help_text="True once a signed checkpoint covers the ruling's audit event (the payout waits for this)."
    )
    treeSize = serializers.IntegerField(
        source="tree_size", allow_null=True, help_text="The covering checkpoint's tree size."
    )
    anchor = AnchorOut(
        allow_null=True, help_text="That checkpoint's chain transaction, if any: shown, never waited on."
    )


class ProofResult(serializers.Serializer):
    event = EventSerializer()
    leafIndex = serializers.IntegerField(source="event.seq")
    treeSize = serializers.IntegerField(source="checkpoint.tree_size")
    proof = serializers.ListField(
        child=serializers.CharField(), source="path", help_text="Hex sibling hashes, leaf to root."
    )
    root = serializers.CharField(source="checkpoint.root")
    checkpoint = CheckpointSerializer()
    anchor = AnchorOut(allow_null=True, help_text="The chain transaction carrying the root, if any.")
