"""web3.audit.query, web3.audit.trace, web3.audit.proof, and the `audit` status part."""

from rest_framework import serializers

from market.audit import chain
from market.selectors import audit as audit_selectors
from market.selectors import trail as trail_selectors
from web3api import status
from web3api.methods.sessions import delegation
from web3api.pagination import paginate
from web3api.registry import method
from web3api.serializers import Params, StrictDateTimeField, cursor_field, id_field, limit_field
from web3api.shapes.audit import ListedEventSerializer, ProofResult

TRACE_TYPES = ["resource", "lease", "settlement", "task", "dispute"]
MAX_TREE_SIZE = 2**53 - 1  # the largest integer every JSON reader keeps exact

PROOF_FORMAT = (
    "Verify offline: (1) sha256(UTF-8 of event.payload) = event.payloadSha256; (2) event.hash = sha256 of "
    "the RFC 8785 JSON of {seq, eventId, actorId, action, objectType, objectId, payloadSha256, prevHash, "
    "createdAt}; (3) leaf = sha256(0x00 || 32 bytes of event.hash), nodes = sha256(0x01 || left || right) "
    "(RFC 6962); walking `proof` from leaf index `leafIndex` in a tree of `treeSize` leaves (RFC 9162 "
    '§2.1.3.2) must give `root`; (4) checkpoint.statement = "openclaw-checkpoint/v1\\n<treeSize>\\n<root>'
    '\\n<createdAt>" and checkpoint.signature is its EIP-191 personal_sign by checkpoint.signer (pin that '
    "address); (5) when `anchor` is set, the EVM transaction anchor.txHash on chain anchor.chainId carries "
    "the 32 root bytes as its input. market/audit/proofs.py verify_proof() does (1)-(4) with hashlib and "
    "eth-account only. Positions: an event is written with its contentHash (sha256 of the RFC 8785 JSON of "
    "{eventId, actorId, action, objectType, objectId, payloadSha256, createdAt}) at once; the sequencer gives "
    "it seq, prevHash and hash within seconds of its commit. web3.audit.query and web3.audit.trace sequence "
    "what has committed before they answer, so an event written by an earlier request is listed with its "
    "position; web3.hooks.ingest answers with contentHash and a null seq."
)


class QueryParams(Params):
    objectType = serializers.CharField(required=False, max_length=32, help_text="e.g. lease, task, transfer.")
    objectId = serializers.CharField(required=False, max_length=64)
    since = StrictDateTimeField(required=False, help_text="ISO-8601; events at or after it.")
    sessionId = id_field(
        "session",
        required=False,
        help_text="Only the session's hook trail (web3.hooks.ingest), each event with its proof.",
    )
    limit = limit_field()
    cursor = cursor_field()


class QueriedEventSerializer(ListedEventSerializer):
    proof = ProofResult(
        allow_null=True,
        help_text="With sessionId: the event's inclusion proof in its sealing checkpoint (as web3.audit.proof "
        "gives it), null until sealed. Without sessionId: null (ask web3.audit.proof).",
    )


class QueryResult(serializers.Serializer):
    items = QueriedEventSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.audit.query",
    summary="Audit events the caller is a party to, newest first.",
    group="audit",
    read_only=True,
    params=QueryParams,
    result=QueryResult,
    errors=["E_NOT_FOUND"],
    permissions=["an actor sees events it is a party to; staff see all; a sessionId not the caller's is E_NOT_FOUND"],
    description="With sessionId: the session's hook trail, newest first, each event with its proof once sealed "
    "(its payload holds the hook, at, tool, bytes, redactions, cost, contentSha256 and the archive cid of the "
    "redacted content); the other filters narrow it further. Every event carries its contentHash from the moment "
    "it is written; its position (seq, prevHash, hash) is given by the sequencer within seconds of its commit, "
    "and the query runs the sequencer first, so every committed event is listed with its position.",
)
def audit_query(call, params):
    filters = {k: params.get(k) for k in ("objectType", "objectId", "since")}
    who = {"actor_id": call.actor_id, "is_staff": call.is_staff}
    if "sessionId" not in params:
        return paginate(audit_selectors.audit_events(**who, filters=filters), params)
    trail = trail_selectors.session_trail(session_id=params["sessionId"], delegation_id=delegation(call), **who)
    page = paginate(audit_selectors.audit_events(**who, filters=filters, queryset=trail), params)
    page["items"] = trail_selectors.with_proofs(page["items"], **who)
    return page


class TraceParams(Params):
    objectType = serializers.ChoiceField(choices=TRACE_TYPES)
    objectId = serializers.CharField(max_length=64)


class TraceResult(serializers.Serializer):
    objectType = serializers.CharField()
    objectId = serializers.CharField()
    items = ListedEventSerializer(many=True, help_text=f"Oldest first, at most {audit_selectors.TRACE_LIMIT}.")


@method(
    name="web3.audit.trace",
    summary="Every audit event of one object, oldest first.",
    group="audit",
    read_only=True,
    params=TraceParams,
    result=TraceResult,
    errors=["E_NOT_FOUND"],
    permissions=["parties to some event of the object, and staff; anyone else gets E_NOT_FOUND"],
)
def audit_trace(call, params):
    events = audit_selectors.audit_trace(
        object_type=params["objectType"], object_id=params["objectId"], actor_id=call.actor_id, is_staff=call.is_staff
    )
    return {"objectType": params["objectType"], "objectId": params["objectId"], "items": events}


class ProofParams(Params):
    eventId = id_field("audit event")
    treeSize = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TREE_SIZE,
        help_text="Prove against this checkpoint; default: the first covering it.",
    )


@method(
    name="web3.audit.proof",
    summary="Inclusion proof of one audit event in a signed checkpoint.",
    group="audit",
    read_only=True,
    params=ProofParams,
    result=ProofResult,
    errors=["E_NOT_FOUND", "E_CONFLICT"],
    description=PROOF_FORMAT,
    permissions=["parties to the event, and staff; anyone else gets E_NOT_FOUND"],
    prerequisites=["the event is sealed (E_CONFLICT until the next checkpoint, about a minute)"],
)
def audit_proof(call, params):
    return audit_selectors.audit_proof(
        event_id=params["eventId"], actor_id=call.actor_id, is_staff=call.is_staff, tree_size=params.get("treeSize")
    )


@status.part("audit")
def _audit_status() -> tuple[str, str]:
    h = audit_selectors.audit_health(sequence_first=True)
    last = h["lastCheckpoint"]
    parts = [
        f"checkpoint {last.tree_size} at {last.created_text} signed by {last.signer}" if last else "no checkpoint yet",
        f"{h['unsealed']} unsealed events",
    ]
    if h["unsequenced"]:
        parts[-1] += f" ({h['unsequenced']} waiting for their position)"
    state = "degraded" if h["unsealedAgeSec"] > 600 or h["unsequencedAgeSec"] > 60 else "ok"
    if not chain.configured():
        parts.append("chain anchoring off")
    else:
        parts.append(f"{h['anchorsWaiting']} checkpoints waiting for the chain (lag {h['anchorLagSec']}s)")
    if h["lastAnchorError"]:
        parts.append(f"last anchor error: {h['lastAnchorError']}")
        state = "degraded"
    return state, "; ".join(parts)
