"""The market's health by part (web3.status.summary)."""

from __future__ import annotations

from rest_framework import serializers

from web3api.shapes.brain import BrainChoiceSerializer
from web3api.status import STATES


class PartSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATES)
    message = serializers.CharField()


# Built from web3api.status.Summary.
class StatusSummaryResult(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATES, help_text="The worst of the parts.")
    checkedAt = serializers.DateTimeField(source="checked_at")
    parts = serializers.DictField(child=PartSerializer(), help_text="Part name -> state and message.")
    brain = BrainChoiceSerializer(
        allow_null=True,
        help_text="The caller's current brain source: that of its newest open session (web3.brain.resolve); null: "
        "no open session or none resolved.",
    )
