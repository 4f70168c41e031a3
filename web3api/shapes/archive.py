"""The archive's objects on the wire (market.models.archive): as put, and as got with their bytes."""

from __future__ import annotations

import base64

from rest_framework import serializers

from market.archive_store import CID_PATTERN
from web3api.serializers import HEX64_PATTERN


class ArchiveObjectOut(serializers.Serializer):
    cid = serializers.RegexField(
        CID_PATTERN, help_text="CIDv1, base32, codec raw, multihash sha2-256 of the bytes (its digest is `sha256`)."
    )
    sha256 = serializers.RegexField(HEX64_PATTERN, help_text="Hex sha256 of the bytes.")
    mediaType = serializers.CharField(source="media_type", help_text="As the first put of these bytes declared it.")
    size = serializers.IntegerField(help_text="Bytes.")
    createdAt = serializers.DateTimeField(source="created_at")


class ArchiveContentOut(ArchiveObjectOut):
    contentBase64 = serializers.SerializerMethodField(help_text="The bytes, base64 (RFC 4648, padded).")

    def get_contentBase64(self, got) -> str:  # noqa: N802 - the wire name
        return base64.b64encode(got.content).decode()
