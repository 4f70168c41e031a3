"""The navigation, in one place: (label, URL name, who sees it). A page is listed for exactly the
viewers its view's mixin lets in (console/access.py), so the menu never offers a 403."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


def _anyone(viewer) -> bool:
    return viewer.is_authenticated


def _actor(viewer) -> bool:
    return viewer.is_authenticated and not viewer.is_staff


def _staff(viewer) -> bool:
    return viewer.is_staff


def _arbitrator(viewer) -> bool:
    return viewer.is_arbitrator or viewer.is_staff


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    shown_to: Callable[[object], bool]


NAV: list[NavItem] = [
    NavItem("Dashboard", "console:dashboard", _actor),
    NavItem("Overview", "console:overview", _staff),
    NavItem("Resources", "console:resources", _anyone),
    NavItem("Leases", "console:leases", _anyone),
    NavItem("Ledger", "console:ledger", _anyone),
    NavItem("Funds", "console:funds", _anyone),
    NavItem("Agents", "console:agent-tokens", _anyone),
    NavItem("Sessions", "console:sessions", _anyone),
    NavItem("Tasks", "console:tasks", _anyone),
    NavItem("Disputes", "console:disputes", _anyone),
    NavItem("Alerts", "console:alerts", _staff),
    NavItem("Actors", "console:actors", _staff),
    NavItem("Limits", "console:staff-limits", _staff),
    NavItem("Arbitration", "console:arbitration", _arbitrator),
]


def nav_for(viewer, path: str) -> list[dict]:
    items = []
    for item in NAV:
        if not item.shown_to(viewer):
            continue
        url = reverse(item.url_name)
        current = path == url or (url != reverse("console:dashboard") and path.startswith(url))
        items.append({"label": item.label, "url": url, "current": current})
    return items
