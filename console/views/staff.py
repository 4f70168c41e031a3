"""Staff pages (the operator's console). Placeholders until the staff pages land: each is a view
with StaffRequiredMixin, so the navigation, the URLs and the 403 for everyone else already hold."""

from django.views.generic import TemplateView

from console.access import StaffRequiredMixin


class StaffPage(StaffRequiredMixin, TemplateView):
    template_name = "console/staff/placeholder.html"
    title = "Staff"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": self.title}


class OverviewView(StaffPage):
    title = "Overview"


class AlertsView(StaffPage):
    title = "Alerts"


class ActorsView(StaffPage):
    title = "Actors"
