"""web3-core tables: SIWE nonces, bearer tokens, roles, console links, idempotency records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

ACTOR_ID_REGEX = r"^0x[0-9a-f]{40}$"


def _actor_id_check(field: str) -> models.CheckConstraint:
    """The column holds an actor id (a lowercase 0x address); the constraint is named after the column."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__regex": ACTOR_ID_REGEX}), name=f"%(app_label)s_%(class)s_{field}"
    )


class SiweNonce(models.Model):
    """A server-side challenge nonce: single use, short life, bound to the exact message issued
    with it (its sha256: only that text signs in)."""

    nonce = models.CharField(max_length=32, unique=True)
    address = models.CharField(max_length=42)
    chain_id = models.BigIntegerField()
    domain = models.CharField(max_length=255)
    uri = models.CharField(max_length=512)
    message_sha256 = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SIWE nonce"
        constraints = [
            models.CheckConstraint(
                condition=Q(message_sha256__regex=r"^[0-9a-f]{64}$"),
                name="%(app_label)s_%(class)s_message_sha256",
            ),
        ]

    def __str__(self) -> str:
        return f"nonce for {self.address}"


class ActorToken(models.Model):
    """A bearer token. Only its sha256 is stored; the token itself is shown once, at sign-in."""

    token_hash = models.CharField(max_length=64, unique=True)
    actor_id = models.CharField(max_length=42, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            _actor_id_check("actor_id"),
        ]

    def __str__(self) -> str:
        return f"token of {self.actor_id}"


class ActorRole(models.Model):
    class Role(models.TextChoices):
        STAFF = "staff"
        ARBITRATOR = "arbitrator"

    actor_id = models.CharField(max_length=42, db_index=True)
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor_id", "role"], name="%(app_label)s_%(class)s_unique"),
            models.CheckConstraint(condition=Q(role__in=["staff", "arbitrator"]), name="%(app_label)s_%(class)s_role"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.role}"


class ConsoleActor(models.Model):
    """Links a console (Django) user to the actor id its actions are recorded under."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="actor")
    actor_id = models.CharField(max_length=42, unique=True)

    def __str__(self) -> str:
        return f"{self.user} as {self.actor_id}"


class IdempotencyRecord(models.Model):
    """One Idempotency-Key claim, scoped to (actor, method). The stored answer is replayed."""

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    actor_id = models.CharField(max_length=42)
    method = models.CharField(max_length=128)
    key = models.CharField(max_length=255)
    params_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor_id", "method", "key"], name="%(app_label)s_%(class)s_scope"),
            models.CheckConstraint(condition=Q(state__in=["in_flight", "done"]), name="%(app_label)s_%(class)s_state"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.key}"


class AgentToken(models.Model):
    """A delegated bearer token: it acts as its owner's actor, only for the methods its scopes name,
    spending under a policy. Only its sha256 is stored; the token is shown once, when issued.

    `delegation_id` names the policy and caps it spends under: its own token id, or, for a token an
    agent issued from its own (`parent`), its parent's delegation, so the caps hold for them jointly."""

    token_id = models.CharField(max_length=40, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    owner_actor_id = models.CharField(max_length=42, db_index=True)
    label = models.CharField(max_length=80)
    scopes = models.JSONField(default=list)
    policy = models.JSONField(default=dict, help_text="The spend policy, as the owner set it (decimal strings).")
    delegation_id = models.CharField(max_length=40, db_index=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            _actor_id_check("owner_actor_id"),
        ]

    STATES = ("agent_token_active", "agent_token_revoked", "agent_token_expired")

    def __str__(self) -> str:
        return f"{self.label} ({self.token_id}) of {self.owner_actor_id}"

    @property
    def status(self) -> str:
        """Derived, never stored: revoked, else expired by the clock, else active."""
        from django.utils import timezone

        if self.revoked_at is not None:
            return "agent_token_revoked"
        return "agent_token_expired" if self.expires_at <= timezone.now() else "agent_token_active"
