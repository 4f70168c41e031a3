"""Who may open which page. A view says its audience with one mixin; a viewer outside it gets the
403 page saying why (console/403.html), a viewer who is not signed in is sent to sign in.

    class OverviewView(StaffRequiredMixin, TemplateView): ...
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse


class SignedInRequiredMixin:
    """Any signed-in actor. Subclasses narrow the audience with `allows(viewer)`."""

    audience = "signed-in actors"

    def allows(self, viewer) -> bool:
        return True

    def dispatch(self, request, *args, **kwargs):
        viewer = request.viewer
        if not viewer.is_authenticated:
            if viewer.refusal:
                raise PermissionDenied(viewer.refusal)
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('console:signin')}?{query}")
        if not self.allows(viewer):
            roles = ", ".join(viewer.role_names)
            raise PermissionDenied(f"this page is for {self.audience}; you are signed in as {roles}")
        return super().dispatch(request, *args, **kwargs)


class StaffRequiredMixin(SignedInRequiredMixin):
    audience = "staff"

    def allows(self, viewer) -> bool:
        return viewer.is_staff


class ArbitratorRequiredMixin(SignedInRequiredMixin):
    audience = "arbitrators"

    def allows(self, viewer) -> bool:
        return viewer.is_arbitrator or viewer.is_staff


# Function-style names for URLconfs that prefer them.
staff_required = StaffRequiredMixin
