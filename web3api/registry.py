"""The method registry: each `web3.*` method is declared once, here, and everything else is
derived from that declaration — its URL patterns and envelope (gateway), its OpenAPI operations
(schema), and its `web3.capabilities.list` / `describe` entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from rest_framework import serializers

AUTH_LEVELS = ("none", "actor", "staff", "arbitrator")
RISK_LEVELS = ("none", "low", "medium", "high")

# Rules no JSON Schema can state that hold wherever a method takes a param of this name: declared
# here once, and part of every such method's param_rules.
GENERIC_PARAM_RULES = {
    "cursor": "opaque: only a nextCursor this list returned is a cursor",
    "signature": "must recover to the signer's wallet over the object's hash (and an object that requires "
    "signatures refuses a call without one): no keyword checks a signature",
}


@dataclass
class Call:
    """What a method handler knows about its caller."""

    actor_id: str | None
    roles: frozenset[str]
    method: Method
    token_id: int | None = None
    token_expires_at: Any = None
    request: Any = None
    # The agent token's grant when a delegated token calls (web3api.identity.agents.AgentGrant).
    agent: Any = None

    @property
    def is_staff(self) -> bool:
        return "staff" in self.roles

    @property
    def is_arbitrator(self) -> bool:
        return "arbitrator" in self.roles


@dataclass(eq=False)
class Method:
    name: str
    summary: str
    group: str
    handler: Callable[[Call, dict[str, Any]], Any]
    params: type[serializers.Serializer]
    result: type[serializers.Serializer]
    # True: also served on GET, and run outside a transaction (autocommit): it must not write.
    read_only: bool = False
    auth: str = "actor"
    description: str = ""
    permissions: list[str] = field(default_factory=list)
    risk: str = "low"
    rate_limit: str | None = None  # "N/s|m|h"; None: the default limit
    pricing: dict[str, Any] = field(default_factory=lambda: {"model": "free"})
    prerequisites: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    hash_fields: list[str] | None = None
    stability: str = "stable"
    # False: the gateway runs the handler outside a transaction, for a method that calls out to the
    # network between its own short transactions (web3.resources.invoke).
    atomic: bool = True
    # True: an unexpected failure of it (E_INTERNAL, exhausted retries) counts as a money-operation
    # failure for monitoring (web3_ledger_failures_total, the settlement-failure-rate rule).
    moves_money: bool = False
    # The rules of its params that no JSON Schema can state (state, a digest, two values compared),
    # by param (dotted inside a nested object) -> why. Params that satisfy the schema are refused with
    # E_INVALID_ARGUMENT only for these (details.fields names only them), unless the description says
    # another code. The generic ones (GENERIC_PARAM_RULES) are added by param_rules.
    unexpressible: dict[str, str] = field(default_factory=dict)
    # True: it ends an object (revokes, unpublishes, cancels, withdraws, rules on, logs out), which
    # with moves_money makes it destructive for agents (MCP's destructiveHint, describe's hints).
    ends_object: bool = False
    # True: calling it again with the same params has no further effect even without an
    # Idempotency-Key (the second call changes nothing, or is E_CONFLICT); reads always are.
    idempotent: bool = False

    def __post_init__(self) -> None:
        if self.auth not in AUTH_LEVELS:
            raise ValueError(f"{self.name}: auth must be one of {AUTH_LEVELS}")
        if self.risk not in RISK_LEVELS:
            raise ValueError(f"{self.name}: risk must be one of {RISK_LEVELS}")
        # Every method can fail with these; list them once instead of in every declaration.
        # (E_UNAVAILABLE: the database could not be had in time, see web3api.errors.database_busy.)
        base = ["E_INVALID_ARGUMENT", "E_QUOTA_EXCEEDED", "E_INTERNAL", "E_FORBIDDEN", "E_UNAVAILABLE"]
        if self.auth != "none":
            base.append("E_AUTH_REQUIRED")
        self.errors = sorted(set(base) | set(self.errors))

    @property
    def param_rules(self) -> dict[str, str]:
        """Its own unexpressible rules and the generic ones of the params it takes, by param."""
        taken = self.params().fields
        rules = {name: why for name, why in GENERIC_PARAM_RULES.items() if name in taken}
        return dict(sorted({**rules, **self.unexpressible}.items()))

    @property
    def hints(self) -> dict[str, bool]:
        """What calling it does to the world, for agents deciding whether to ask first: MCP's tool
        annotations and describe's `hints` are these."""
        return {
            "readOnly": self.read_only,
            "destructive": not self.read_only and (self.moves_money or self.ends_object),
            "idempotent": self.read_only or self.idempotent,
        }

    @property
    def enabled(self) -> bool:
        return self.name not in settings.WEB3_DISABLED_METHODS

    @property
    def http_methods(self) -> list[str]:
        return ["post", "get"] if self.read_only else ["post"]


_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    if method.name in _REGISTRY and _REGISTRY[method.name] is not method:
        raise ValueError(f"method {method.name} registered twice")
    _REGISTRY[method.name] = method
    return method


def method(**declaration: Any) -> Callable[[Callable], Callable]:
    """Decorator form: `@method(name=..., params=..., result=...)` over the handler."""

    def wrap(handler: Callable) -> Callable:
        register(Method(handler=handler, **declaration))
        return handler

    return wrap


def get(name: str) -> Method | None:
    return _REGISTRY.get(name)


def all_methods() -> list[Method]:
    return sorted(_REGISTRY.values(), key=lambda m: m.name)


def load_methods() -> None:
    """Import every module of web3api.methods (and WEB3_EXTRA_METHOD_MODULES); their decorators
    register the methods."""
    import pkgutil
    from importlib import import_module

    import web3api.methods as package

    modules = [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    for module in [*sorted(modules), *settings.WEB3_EXTRA_METHOD_MODULES]:
        import_module(module)


class EmptyParams(serializers.Serializer):
    """For methods that take no params."""


class OkResult(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Always true.")
