"""Leases: the actor's leases as consumer and as provider, a lease's page (try it, revoke)."""

from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin


class LeaseListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/leases/list.html"


class LeaseDetailView(SignedInRequiredMixin, TemplateView):
    template_name = "console/leases/detail.html"
