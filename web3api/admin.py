"""Admin of identity and the gateway's records: roles and console actors are edited here; tokens,
nonces and idempotency keys are only seen (and may be deleted)."""

from django.contrib import admin

from market.admin.base import ViewOnlyAdmin
from web3api.models import ActorRole, ActorToken, AgentToken, ConsoleActor, IdempotencyRecord, SiweNonce


@admin.register(ActorRole)
class ActorRoleAdmin(admin.ModelAdmin):
    list_display = ("actor_id", "role", "granted_at")
    list_filter = ("role",)
    search_fields = ("actor_id",)


@admin.register(ConsoleActor)
class ConsoleActorAdmin(admin.ModelAdmin):
    list_display = ("user", "actor_id")
    search_fields = ("actor_id", "user__username")


@admin.register(ActorToken)
class ActorTokenAdmin(ViewOnlyAdmin):
    # token_hash is never shown: a hash of a bearer token is still a secret's fingerprint.
    list_display = ("actor_id", "created_at", "expires_at", "revoked_at")
    fields = ("actor_id", "created_at", "expires_at", "revoked_at")
    search_fields = ("actor_id",)


@admin.register(SiweNonce)
class SiweNonceAdmin(ViewOnlyAdmin):
    list_display = ("address", "chain_id", "domain", "issued_at", "expires_at", "used_at")
    fields = ("address", "chain_id", "domain", "uri", "issued_at", "expires_at", "used_at")
    search_fields = ("address",)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ViewOnlyAdmin):
    list_display = ("actor_id", "method", "key", "state", "status_code", "created_at")
    fields = ("actor_id", "method", "key", "state", "status_code", "created_at", "expires_at")
    search_fields = ("actor_id", "method", "key")


@admin.register(AgentToken)
class AgentTokenAdmin(ViewOnlyAdmin):
    # token_hash is never shown, as for ActorToken.
    list_display = ("token_id", "owner_actor_id", "label", "created_at", "expires_at", "revoked_at")
    fields = (
        "token_id",
        "owner_actor_id",
        "label",
        "scopes",
        "policy",
        "delegation_id",
        "parent",
        "created_at",
        "expires_at",
        "revoked_at",
    )
    search_fields = ("token_id", "owner_actor_id", "label")
