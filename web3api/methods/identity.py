"""web3.siwe.* and web3.identity.*: sign in with a wallet, get a bearer token."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from web3api.identity import agents, services
from web3api.registry import EmptyParams, OkResult, method
from web3api.serializers import ADDRESS_PATTERN, SIGNATURE_PATTERN, Params, StrictCharField, with_schema


class ChallengeParams(Params):
    address = serializers.RegexField(
        ADDRESS_PATTERN, max_length=42, help_text="The wallet address that will sign (0x + 40 hex)."
    )
    chainId = with_schema(
        serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="EIP-155 chain id, one the market accepts (WEB3_CHAIN_IDS); defaults to the market's first.",
        ),
        enum=lambda: list(settings.WEB3_CHAIN_IDS),
    )


class ChallengeResult(serializers.Serializer):
    message = serializers.CharField(help_text="The exact EIP-4361 text to sign with personal_sign.")
    nonce = serializers.CharField()
    expiresAt = serializers.DateTimeField(source="expires_at")


@method(
    name="web3.siwe.challenge",
    summary="Get a Sign-In with Ethereum message to sign.",
    group="siwe",
    read_only=False,
    auth="none",
    params=ChallengeParams,
    result=ChallengeResult,
    risk="none",
    rate_limit="60/m",
    description=(
        "Issues a single-use nonce (5-minute life) and the exact EIP-4361 message for `address`. "
        "Sign the message with the wallet (EIP-191 personal_sign) and send both to web3.siwe.verify, "
        "the message unchanged: only that exact text signs in."
    ),
    examples=[{"params": {"address": "0x" + "ab" * 20}}],
)
def siwe_challenge(call, params):
    domain, uri = services.siwe_domain_and_uri(call.request)
    return services.siwe_challenge(
        address=params["address"],
        chain_id=params.get("chainId", settings.WEB3_CHAIN_IDS[0]),
        domain=domain,
        uri=uri,
    )


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": services.MESSAGE_MAX_CHARS})
class SiweMessageField(StrictCharField):
    """The signed text. Its length cap is the service's, refused as E_AUTH_REQUIRED like any
    text the market did not issue; the schema states it."""


class VerifyParams(Params):
    message = SiweMessageField(
        trim_whitespace=False,
        help_text=(
            "The message from web3.siwe.challenge, byte for byte: any change, or more than "
            f"{services.MESSAGE_MAX_CHARS} characters, is E_AUTH_REQUIRED: only the text the market issued "
            "verifies, which no schema can say."
        ),
    )
    signature = serializers.RegexField(
        SIGNATURE_PATTERN, help_text="0x-prefixed 65-byte personal_sign signature of `message`."
    )


class VerifyResult(serializers.Serializer):
    token = serializers.CharField(help_text="Bearer token: send as 'Authorization: Bearer <token>'.")
    actorId = serializers.CharField(source="actor_id")
    expiresAt = serializers.DateTimeField(source="expires_at")


@method(
    name="web3.siwe.verify",
    summary="Exchange a signed SIWE message for a bearer token.",
    group="siwe",
    read_only=False,
    auth="none",
    params=VerifyParams,
    result=VerifyResult,
    risk="low",
    rate_limit="60/m",
    errors=["E_AUTH_REQUIRED"],
    prerequisites=["web3.siwe.challenge"],
    unexpressible={"message": "only the exact text web3.siwe.challenge issued verifies (E_AUTH_REQUIRED otherwise)"},
    atomic=False,
    description=(
        "Only the exact text web3.siwe.challenge issued signs in. Any change to it is refused "
        "before it is read: an edited statement, added Resources, Request ID or Not Before, the "
        "Expiration Time removed or moved, another domain, URI, chain id, nonce or Issued At, the "
        "address in another letter case, added whitespace. So is a message over "
        f"{services.MESSAGE_MAX_CHARS} characters. The issued text must then be signed by its "
        "address (EIP-191 personal_sign), sent to the host it names, within its 5 minutes, once. "
        "Every refusal is E_AUTH_REQUIRED, its `details` naming the header and the sign-in calls; "
        "E_INVALID_ARGUMENT only means a `message` that is missing, empty or not a string of "
        "Unicode text, or a `signature` that is not 0x + 130 hex. The token lives 24 h: send it as "
        "'Authorization: Bearer <token>'."
    ),
)
def siwe_verify(call, params):
    domain, _ = services.siwe_domain_and_uri(call.request)
    return services.siwe_verify(message=params["message"], signature=params["signature"], domain=domain)


class AgentOut(serializers.Serializer):
    tokenId = serializers.CharField(source="token_id")
    label = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())


class WhoamiResult(serializers.Serializer):
    actorId = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    expiresAt = serializers.DateTimeField(allow_null=True, help_text="Null for console sessions.")
    agent = AgentOut(allow_null=True, help_text="The agent token the call was made with; null for the owner.")


@method(
    name="web3.identity.whoami",
    summary="Who the market takes the caller to be.",
    group="identity",
    read_only=True,
    auth="actor",
    params=EmptyParams,
    result=WhoamiResult,
    risk="none",
)
def identity_whoami(call, params):
    return {
        "actorId": call.actor_id,
        "roles": sorted(call.roles),
        "expiresAt": call.token_expires_at,
        "agent": call.agent,
    }


@method(
    name="web3.identity.logout",
    ends_object=True,
    idempotent=True,
    summary="Revoke the bearer token used for this call (an agent token: itself and the tokens issued from it).",
    group="identity",
    read_only=False,
    auth="actor",
    params=EmptyParams,
    result=OkResult,
    risk="none",
)
def identity_logout(call, params):
    if call.agent is not None:
        # An agent token ends itself (and the tokens issued from it), never its owner's sessions.
        agents.agent_token_revoke(owner_actor_id=call.actor_id, token_id=call.agent.token_id, issuer=call.agent)
    elif call.token_id is not None:
        services.token_revoke(token_id=call.token_id)
    return {"ok": True}
