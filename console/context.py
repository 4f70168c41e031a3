"""Template context for every page: the viewer and the navigation it may use."""

from django.conf import settings

from console.nav import nav_for


def console(request) -> dict:
    viewer = getattr(request, "viewer", None)
    if viewer is None:
        return {}
    return {
        "viewer": viewer,
        "nav": nav_for(viewer, request.path) if viewer.is_authenticated else [],
        "market_name": settings.WEB3_MARKET_NAME,
    }
