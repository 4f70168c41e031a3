"""The actor's ledger: every transfer touching its accounts."""

from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin


class LedgerView(SignedInRequiredMixin, TemplateView):
    template_name = "console/ledger.html"
