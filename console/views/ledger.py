"""The actor's ledger: every transfer touching its accounts (the API's TransferFilter), newest
first, with what each escrow lock became."""

from __future__ import annotations

from django import forms
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from console.forms import MarketForm, apply_market_error
from console.paging import page_of, query_without_page
from market.errors import MarketError
from market.models import Transfer
from market.money import currencies
from market.selectors.ledger import ledger_entries


class LedgerFilterForm(MarketForm):
    currency = forms.ChoiceField(required=False, choices=[])
    since = forms.DateTimeField(required=False, help_text="e.g. 2026-12-01 00:00")
    until = forms.DateTimeField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", "Any currency"), *((c, c) for c in currencies())]


class LedgerView(SignedInRequiredMixin, TemplateView):
    template_name = "console/ledger.html"

    def get_context_data(self, **kwargs):
        form = LedgerFilterForm(self.request.GET)
        entries = Transfer.objects.none()
        if form.is_valid():
            filters = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in form.cleaned_data.items()}
            try:
                entries = ledger_entries(actor_id=self.request.viewer.actor_id, filters=filters)
            except MarketError as exc:
                apply_market_error(form, exc)
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "page_obj": page_of(entries, self.request),
            "query": query_without_page(self.request),
        }
