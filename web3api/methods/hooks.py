"""web3.hooks.ingest: the agent's hook trail (market.services.trail)."""

from django.conf import settings
from rest_framework import serializers

from market.selectors import trail as trail_selectors
from market.services import trail as trail_services
from web3api.methods.sessions import delegation
from web3api.money import amounts_to_minor, currency_field, money_field
from web3api.registry import method
from web3api.serializers import Params, StrictDateTimeField, StrictRegexField, id_field

MAX_BATCH = settings.WEB3_HOOKS_MAX_BATCH
TOOL_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
TRAIL = (
    "Each payload is canonicalised (RFC 8785) and redacted before anything is stored: the values of secret keys "
    "(authorization, apiKey, password, token, ...) and every bearer token, Authorization line, API key (sk-...), "
    "0x private key or PEM key, JWT, URL credential, file: URI and absolute file path become `[redacted]` or "
    "`[redacted:<kind>]` (WEB3_REDACT_KEYS and WEB3_REDACT_PATTERNS add rules). The redacted canonical bytes go to "
    "the archive (their `cid`; the session's owner can web3.archive.get them) and one audit event per hook, "
    "action hook.<hook> on the object session/<sessionId>, keeps only their sha256 (`hash`) and cid, the hook, "
    "`at`, the tool's name, the byte size, the number of secrets taken out and the reported cost. The events are "
    "sealed and anchored like every audit event: web3.audit.query {sessionId} lists the trail with each event's "
    f"proof. Limits: 1 to {MAX_BATCH} events per call (WEB3_HOOKS_MAX_BATCH), "
    f"{settings.WEB3_HOOKS_MAX_PAYLOAD_BYTES} bytes per redacted payload as canonical JSON "
    "(WEB3_HOOKS_MAX_PAYLOAD_BYTES; E_INVALID_ARGUMENT naming events.payload, its message the event's index), "
    f"{settings.WEB3_HOOKS_MAX_EVENTS_PER_SESSION} events per session (WEB3_HOOKS_MAX_EVENTS_PER_SESSION) and the "
    "owner's archive quota (WEB3_ARCHIVE_QUOTA_BYTES), both E_QUOTA_EXCEEDED. A batch is taken whole or not at all."
)


class CostParams(Params):
    amount = money_field(
        "What the call cost, as the agent reports it (kept in the trail; moves no money).",
        positive=False,
        currency="currency",
    )
    currency = currency_field()

    def validate(self, attrs):
        return amounts_to_minor(self, attrs)


class HookEventParams(Params):
    hook = serializers.ChoiceField(choices=trail_services.HOOKS)
    at = StrictDateTimeField(help_text="When the hook fired, by the agent's clock (ISO-8601).")
    payload = serializers.DictField(
        help_text="What the hook saw, any JSON object (the prompt, the tool's arguments or answer...): redacted "
        "before it is stored; integers beyond 2**53 are refused (RFC 8785)."
    )
    tool = StrictRegexField(
        TOOL_PATTERN, required=False, help_text="The tool's name, for before_tool_call and after_tool_call."
    )
    cost = CostParams(required=False, help_text="{amount, currency}: the cost the agent reports for the call.")

    def validate_payload(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value


class IngestParams(Params):
    sessionId = id_field("session")
    events = HookEventParams(
        many=True, min_length=1, max_length=MAX_BATCH, help_text=f"1 to {MAX_BATCH} events, oldest first."
    )


class IngestedOut(serializers.Serializer):
    hash = serializers.CharField(
        help_text="sha256: + hex sha256 of the redacted canonical payload (the archived bytes)."
    )
    cid = serializers.CharField(help_text="The archive object holding those bytes (its digest is the same sha256).")
    eventId = serializers.CharField(source="event_id", help_text="The audit event (web3.audit.proof once sealed).")
    contentHash = serializers.CharField(
        source="content_hash", help_text="The audit leaf's content hash (without its position), known at once."
    )
    seq = serializers.IntegerField(
        allow_null=True,
        help_text="Its position in the audit log; null until the sequencer has given it one "
        "(web3.audit.query shows it).",
    )
    redactions = serializers.IntegerField(help_text="How many secrets were taken out of the payload.")


class IngestResult(serializers.Serializer):
    items = IngestedOut(many=True, help_text="One per event, in the order sent.")


@method(
    name="web3.hooks.ingest",
    summary="Record a batch of the agent's hook events (redacted, archived, audited).",
    group="hooks",
    params=IngestParams,
    result=IngestResult,
    atomic=False,
    errors=["E_NOT_FOUND"],
    permissions=[
        "the session's owner, or its agent token for the sessions of its delegation (web3.sessions.open); anyone "
        "else gets E_NOT_FOUND"
    ],
    description=TRAIL,
    unexpressible={
        "events.payload": "representable as RFC 8785 canonical JSON (no integer beyond 2**53, no lone surrogate) and "
        "at most WEB3_HOOKS_MAX_PAYLOAD_BYTES bytes once canonical and redacted: no keyword measures canonical JSON",
    },
    examples=[
        {
            "params": {
                "sessionId": "ses_...",
                "events": [
                    {
                        "hook": "before_tool_call",
                        "at": "2026-12-01T12:00:00Z",
                        "tool": "web.search",
                        "payload": {"query": "weather in Lisbon"},
                    }
                ],
            }
        }
    ],
)
def ingest(call, params):
    session = trail_selectors.trail_session(
        session_id=params["sessionId"], actor_id=call.actor_id, delegation_id=delegation(call), writing=True
    )
    events = [
        trail_services.HookEvent(
            hook=e["hook"],
            at=e["at"],
            payload=e["payload"],
            tool=e.get("tool"),
            cost=(e["cost"]["amount"], e["cost"]["currency"]) if "cost" in e else None,
        )
        for e in params["events"]
    ]
    return {"items": trail_services.hooks_ingest(session=session, actor_id=call.actor_id, events=events)}
