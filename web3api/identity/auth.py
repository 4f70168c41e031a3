"""Who is calling, as DRF authentication classes: a bearer token from web3.siwe.verify, or a
signed-in console user's session (then CSRF applies). Tokens in query strings are ignored.

Both give DRF a `Caller` as `request.user`. DRF would also write it (or None, for nobody) over the
Django request's `user`, where the console user lives; `CallerRequest` keeps it off, so no refusal
or bearer token ever signs a console user out of the rest of its request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rest_framework.authentication import BaseAuthentication, CSRFCheck, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request

from web3api.identity.agents import AGENT_TOKEN_PREFIX, agent_token_resolve
from web3api.identity.services import roles_for, token_resolve_with_roles
from web3api.models import ActorToken, ConsoleActor


@dataclass(frozen=True)
class Caller:
    """An actor and its roles: DRF's `request.user` for the gateway's views."""

    actor_id: str
    roles: frozenset[str]
    token_id: int | None = None
    expires_at: datetime | None = None
    # An agent token's grant (web3api.identity.agents.AgentGrant): the caller acts as the owner,
    # without its roles, only for the grant's scopes.
    agent: Any = None
    is_authenticated = True


class CallerRequest(Request):
    """DRF's Request, except that the caller DRF finds stays on it: the Django request's `user`
    (the console session's) is left as the session middleware made it."""

    @Request.user.setter
    def user(self, value) -> None:
        self._user = value


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`. A present but malformed, invalid, expired or revoked token
    is refused (E_AUTH_REQUIRED saying how to sign in again), never taken as nobody."""

    def authenticate(self, request) -> tuple[Caller, ActorToken | None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("the Authorization header is not a bearer token")
        if token.strip().startswith(AGENT_TOKEN_PREFIX):
            grant = agent_token_resolve(token.strip())
            if grant is None:
                raise AuthenticationFailed("the agent token is invalid, expired or revoked")
            return Caller(grant.owner_actor_id, frozenset(), None, grant.expires_at, agent=grant), None
        found = token_resolve_with_roles(token.strip())
        if found is None:
            raise AuthenticationFailed("the token is invalid, expired or revoked")
        row, roles = found
        return Caller(row.actor_id, roles, row.pk, row.expires_at), row


class ConsoleSessionAuthentication(SessionAuthentication):
    """A signed-in, active console user acts as the actor it is linked to (staff users also with
    the staff role); a user linked to no actor may not call at all. Unsafe verbs need the CSRF
    token, as for any form of the console."""

    def authenticate(self, request) -> tuple[Caller, None] | None:
        user = getattr(request._request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        link = ConsoleActor.objects.filter(user=user).first()
        if link is None:
            raise PermissionDenied("this console user is not linked to an actor")
        self.enforce_csrf(request)
        roles = set(roles_for(link.actor_id))
        if user.is_staff:
            roles.add("staff")
        return Caller(link.actor_id, frozenset(roles)), None

    def enforce_csrf(self, request) -> None:
        # Django's check on the Django request: given DRF's, it would read a form token from the
        # body through DRF's parsers, and the body is the gateway's to read (web3api.body).
        check = CSRFCheck(lambda req: None)
        check.process_request(request._request)
        if check.process_view(request._request, None, (), {}):
            raise PermissionDenied("CSRF check failed: send the csrftoken cookie's value as X-CSRFToken")
