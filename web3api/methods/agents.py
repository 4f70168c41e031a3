"""web3.identity.issueAgentToken|listAgentTokens|revokeAgentToken: delegation to an agent."""

from rest_framework import serializers

from web3api.identity import agents
from web3api.models import AgentToken
from web3api.money import currency_field, money_field
from web3api.pagination import paginate
from web3api.registry import all_methods, method
from web3api.serializers import Params, StrictCharField, actor_id_field, cursor_field, id_field, limit_field


class SpendPolicyParams(Params):
    sessionCap = money_field(
        "The most one session may spend (and lock), read in the session's currency. At most the market's "
        "sessionCap limit (web3.admin.getLimits); absent: the market's.",
        required=False,
    )
    dailyCap = money_field(
        "The most all sessions of the token (and of tokens issued from it) may spend in a UTC day, per currency. "
        "At most the market's dailyCap limit (web3.admin.getLimits); absent: the market's.",
        required=False,
    )
    counterpartyDailyCap = money_field("The most paid to any one provider in a UTC day, per currency.", required=False)
    approvalAbove = money_field(
        "A session whose budget is above it waits for the owner's web3.sessions.approve before anything is locked.",
        positive=False,
        required=False,
    )
    currencies = serializers.ListField(
        child=currency_field(), max_length=20, required=False, help_text="Currencies sessions may use (absent: any)."
    )
    providerAllow = serializers.ListField(
        child=actor_id_field(),
        max_length=200,
        required=False,
        help_text="Only these providers may be paid (absent: any). Trusted (post-paid) sessions pay only these.",
    )
    providerDeny = serializers.ListField(
        child=actor_id_field(), max_length=200, required=False, help_text="These providers are never paid."
    )
    brainAllow = serializers.ListField(
        child=serializers.RegexField(r"^(res_[0-9a-z]{26}|0x[0-9a-f]{40})$", max_length=42),
        max_length=200,
        required=False,
        help_text="The owner's brain allowlist: model resources (res_...) or providers (0x...) the agent may use as "
        "its main brain (web3.brain.*), beside the market's WEB3_BRAIN_ALLOWLIST. Absent: the market's only. It "
        "allows no payment that providerAllow or providerDeny refuse.",
    )
    callsPerMinute = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, help_text="Invocations per minute across a session."
    )


class AgentTokenIssueParams(Params):
    label = StrictCharField(max_length=80, help_text="A name for the agent, recorded in every audit event it causes.")
    scopes = serializers.ListField(
        child=serializers.RegexField(agents.SCOPE_PATTERN, max_length=80),
        min_length=1,
        max_length=100,
        help_text="Method names (web3.sessions.open) or group patterns (web3.sessions.*) the token may call; any "
        "other method is E_FORBIDDEN for it.",
    )
    policy = SpendPolicyParams(required=False, help_text="The spend policy; every field optional.")
    ttlSec = serializers.IntegerField(
        min_value=60, max_value=365 * 24 * 3600, help_text="Life of the token (at most WEB3_AGENT_TOKEN_MAX_TTL_SEC)."
    )


class AgentTokenSerializer(serializers.Serializer):
    tokenId = serializers.CharField(source="token_id")
    label = serializers.CharField()
    ownerActorId = serializers.CharField(source="owner_actor_id")
    scopes = serializers.ListField(child=serializers.CharField())
    policy = serializers.JSONField(help_text="The spend policy as stored (amounts as decimal strings).")
    delegationId = serializers.CharField(source="delegation_id", help_text="The delegation whose caps it spends under.")
    parentTokenId = serializers.CharField(source="parent.token_id", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=AgentToken.STATES, help_text="Derived from revokedAt and expiresAt.")
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at")
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)


class AgentTokenIssueResult(AgentTokenSerializer):
    token = serializers.CharField(help_text="Shown once, never again: 'Authorization: Bearer <token>'.")


class AgentTokenListResult(serializers.Serializer):
    items = AgentTokenSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


@method(
    name="web3.identity.issueAgentToken",
    summary="Delegate to an agent: a token with scopes and a spend policy, shown once.",
    group="identity",
    params=AgentTokenIssueParams,
    result=AgentTokenIssueResult,
    risk="high",
    rate_limit="30/m",
    permissions=[
        "the owner's wallet session; an agent token with this scope only within its own scopes, policy and life"
    ],
    errors=["E_FORBIDDEN"],
    unexpressible={
        "scopes": "each must name a method or group this market has",
        "policy.sessionCap": "at most the market's sessionCap limit (web3.admin.getLimits)",
        "policy.dailyCap": "at most the market's dailyCap limit (web3.admin.getLimits)",
        "ttlSec": "at most WEB3_AGENT_TOKEN_MAX_TTL_SEC",
    },
    description="The token acts as the owner's actor without the owner's roles, only for the methods its scopes "
    "cover, and every audit event it causes records the owner and the token's label. Only its sha256 is kept. "
    "An agent token may issue one only within what it holds (scopes, policy, life: E_FORBIDDEN otherwise); the new "
    "token spends under the same delegation, so caps hold for both together. At most 50 live tokens per owner.",
    examples=[
        {
            "params": {
                "label": "butler",
                "scopes": ["web3.sessions.*", "web3.billing.*", "web3.resources.invoke"],
                "policy": {"sessionCap": "5", "dailyCap": "20", "approvalAbove": "2"},
                "ttlSec": 86400,
            }
        }
    ],
)
def issue_agent_token(call, params):
    issued = agents.agent_token_issue(
        owner_actor_id=call.actor_id,
        label=params["label"],
        scopes=params["scopes"],
        policy=params.get("policy"),
        ttl_sec=params["ttlSec"],
        method_names=[m.name for m in all_methods()],
        issuer=call.agent,
    )
    issued.row.token = issued.token
    return issued.row


class AgentTokenListParams(Params):
    limit = limit_field()
    cursor = cursor_field()


@method(
    name="web3.identity.listAgentTokens",
    summary="The caller's agent tokens (never the tokens themselves), newest first.",
    group="identity",
    read_only=True,
    params=AgentTokenListParams,
    result=AgentTokenListResult,
    permissions=["the owner sees all its tokens; an agent token itself and the tokens issued from it"],
)
def list_agent_tokens(call, params):
    qs = agents.agent_tokens_visible(owner_actor_id=call.actor_id, issuer=call.agent).select_related("parent")
    return paginate(qs, params)


class AgentTokenRevokeParams(Params):
    tokenId = id_field("agent token", help_text="Id of the agent token (agt_...).")


@method(
    name="web3.identity.revokeAgentToken",
    ends_object=True,
    idempotent=True,
    summary="Revoke an agent token and every token issued from it.",
    group="identity",
    params=AgentTokenRevokeParams,
    result=AgentTokenSerializer,
    risk="low",
    errors=["E_NOT_FOUND"],
    permissions=["the owner, any of its tokens; an agent token itself and the tokens issued from it"],
)
def revoke_agent_token(call, params):
    return agents.agent_token_revoke(owner_actor_id=call.actor_id, token_id=params["tokenId"], issuer=call.agent)
