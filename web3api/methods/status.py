"""web3.status.summary: market health by part."""

from rest_framework import serializers

from web3api import status
from web3api.registry import EmptyParams, method

STATES = ["ok", "degraded", "down"]


class PartSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATES)
    message = serializers.CharField()


class StatusSummaryResult(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATES, help_text="The worst of the parts.")
    checkedAt = serializers.DateTimeField()
    parts = serializers.DictField(child=PartSerializer(), help_text="Part name -> state and message.")


@method(
    name="web3.status.summary",
    summary="Market health by part: ok, degraded or down.",
    group="status",
    read_only=True,
    auth="actor",
    params=EmptyParams,
    result=StatusSummaryResult,
    risk="none",
)
def status_summary(call, params):
    return status.summary()
