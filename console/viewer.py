"""Who is looking at a console page: a wallet session (a bearer token bound to the Django
session at sign-in) or a Django user linked to an actor (staff may sign in with a password).

`request.viewer` is set by ViewerMiddleware, lazily: pages that never ask cost no query."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from web3api.identity.services import roles_for
from web3api.models import ActorToken, ConsoleActor

SESSION_TOKEN = "console_token_id"  # noqa: S105 - a session key name, not a secret
SESSION_TZ = "console_tz"


@dataclass(frozen=True)
class Viewer:
    """The signed-in actor and its roles; `actor_id` is empty for nobody."""

    actor_id: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    via: str = ""  # "wallet" | "password" | ""
    token_id: int | None = None
    refusal: str = ""  # why a signed-in Django user acts as no actor

    @property
    def is_authenticated(self) -> bool:
        return bool(self.actor_id)

    @property
    def is_staff(self) -> bool:
        return "staff" in self.roles

    @property
    def is_arbitrator(self) -> bool:
        return "arbitrator" in self.roles

    @property
    def role_names(self) -> list[str]:
        return sorted(self.roles) or ["actor"]


NOBODY = Viewer()


def _wallet_viewer(request) -> Viewer | None:
    token_id = request.session.get(SESSION_TOKEN)
    if token_id is None:
        return None
    row = ActorToken.objects.filter(pk=token_id, revoked_at__isnull=True, expires_at__gt=timezone.now()).first()
    if row is None:
        # The token expired or was revoked elsewhere: the session is no longer signed in.
        request.session.pop(SESSION_TOKEN, None)
        return None
    return Viewer(row.actor_id, roles_for(row.actor_id), "wallet", row.pk)


def _password_viewer(request) -> Viewer | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    link = ConsoleActor.objects.filter(user=user).first()
    if link is None:
        return Viewer(refusal=f"the console user {user.get_username()} is not linked to an actor")
    roles = set(roles_for(link.actor_id))
    if user.is_staff:
        roles.add("staff")
    return Viewer(link.actor_id, frozenset(roles), "password")


def viewer_for(request) -> Viewer:
    return _wallet_viewer(request) or _password_viewer(request) or NOBODY


class ViewerMiddleware:
    """Sets `request.viewer` (lazily) and activates the time zone the browser reported at sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.viewer = SimpleLazyObject(lambda: viewer_for(request))
        tz = request.session.get(SESSION_TZ) if hasattr(request, "session") else None
        if tz:
            try:
                timezone.activate(tz)
            except Exception:  # noqa: BLE001 - an unknown zone name from a browser: stay in UTC
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
