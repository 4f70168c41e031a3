"""Disputes the actor is party to, with evidence."""

from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin


class DisputeListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/disputes/list.html"


class DisputeDetailView(SignedInRequiredMixin, TemplateView):
    template_name = "console/disputes/detail.html"
