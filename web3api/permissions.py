"""Who may call a method, as DRF permission classes, in the gateway's order: the kill switch, then
the method's `auth` level (asking for `request.user` is what authenticates the caller, so a
disabled method is refused before any credential is read)."""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


class MethodEnabled(BasePermission):
    """WEB3_DISABLED_METHODS. It refuses by raising: a permission that returns False is answered
    NotAuthenticated when nobody signed in, and a disabled method is disabled for everyone."""

    def has_permission(self, request, view) -> bool:
        if not view.method.enabled:
            raise PermissionDenied(f"{view.method.name} is disabled on this market")
        return True


# The money methods an agent token may call (when its scopes name them): those of its sessions, and
# those that only give money back or bring it in. Every other method that moves money (a lease or an
# award locked from the free balance, a result accepted, a withdrawal) would spend outside the spend
# policy, so an agent may not call it whatever its scopes say: default deny, new money methods too.
AGENT_MONEY_METHODS = frozenset(
    {
        "web3.sessions.open",
        "web3.billing.settleSession",
        "web3.resources.invoke",  # through a session only (the method refuses a leaseId from an agent)
        "web3.brain.invoke",  # always inside a session
        "web3.leases.revoke",
        "web3.market.cancelTask",
        "web3.ledger.append",
    }
)


class MethodAuthLevel(BasePermission):
    """`none`: anyone; `actor`: a caller (none is E_AUTH_REQUIRED, by DRF's NotAuthenticated);
    `staff`, `arbitrator`: a caller with that role (else E_FORBIDDEN). An agent token calls only the
    methods its scopes cover (else E_FORBIDDEN)."""

    def has_permission(self, request, view) -> bool:
        method = view.method
        if method.auth == "none":
            return True
        caller = request.user
        if caller is None:
            return False
        if method.auth in ("staff", "arbitrator") and method.auth not in caller.roles:
            self.message = f"{method.name} needs the {method.auth} role"
            return False
        if caller.agent is not None and not caller.agent.allows(method.name):
            # A delegated token calls only what its scopes name (and never with its owner's roles).
            self.message = f"this agent token's scopes do not include {method.name}"
            return False
        if caller.agent is not None and method.moves_money and method.name not in AGENT_MONEY_METHODS:
            self.message = f"an agent token spends only through sessions; {method.name} is for the owner's wallet"
            return False
        return True
