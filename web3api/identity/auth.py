"""Who is calling: a bearer token from web3.siwe.verify, or a signed-in console user's session
(then CSRF applies). Tokens in query strings are ignored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.middleware.csrf import CsrfViewMiddleware

from market.errors import AuthRequired, Forbidden
from web3api.identity.services import roles_for, token_resolve
from web3api.models import ConsoleActor


@dataclass(frozen=True)
class Caller:
    actor_id: str
    roles: frozenset[str]
    token_id: int | None = None
    expires_at: datetime | None = None


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _enforce_csrf(request) -> None:
    check = _CSRFCheck(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise Forbidden("CSRF check failed: send the csrftoken cookie's value as X-CSRFToken")


def authenticate(request) -> Caller | None:
    """The caller, or None when the request carries no credentials at all.

    A present but invalid, expired or revoked token is E_AUTH_REQUIRED, never anonymous; the
    refusal says how to sign in again.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthRequired.sign_in("the Authorization header is not a bearer token")
        row = token_resolve(token.strip())
        if row is None:
            raise AuthRequired.sign_in("the token is invalid, expired or revoked")
        return Caller(row.actor_id, roles_for(row.actor_id), row.pk, row.expires_at)

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        link = ConsoleActor.objects.filter(user=user).first()
        if link is None:
            raise Forbidden("this console user is not linked to an actor")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            _enforce_csrf(request)
        roles = set(roles_for(link.actor_id))
        if user.is_staff:
            roles.add("staff")
        return Caller(link.actor_id, frozenset(roles))
    return None
