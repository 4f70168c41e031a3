"""The signed-in actor's economics dashboard (staff land on the overview; `?me` shows theirs)."""

from __future__ import annotations

from csp.decorators import csp_update
from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView, View

from console.access import SignedInRequiredMixin
from console.charts import daily_income_expense_svg
from console.forms import MarketForm, MoneyField, apply_market_error
from market.errors import MarketError
from market.money import currencies, format_amount
from market.selectors.economics import actor_economics
from market.services.preferences import threshold_set


class ThresholdForm(MarketForm):
    currency = forms.ChoiceField(choices=[], widget=forms.HiddenInput)
    amount = MoneyField(label="Warn me below", required=False, help_text="Leave empty for no notice.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies()]


def _decimal(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_amount(minor, currency)


class DashboardView(SignedInRequiredMixin, TemplateView):
    template_name = "console/dashboard.html"

    def get(self, request, *args, **kwargs):
        if request.viewer.is_staff and "me" not in request.GET:
            return redirect("console:overview")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        economics = actor_economics(actor_id=self.request.viewer.actor_id)
        forms_by_currency = {
            e.currency: ThresholdForm(
                initial={"currency": e.currency, "amount": _decimal(e.threshold, e.currency)},
                auto_id=f"id_{e.currency}_%s",
            )
            for e in economics
        }
        return {
            **super().get_context_data(**kwargs),
            "economics": [(e, forms_by_currency[e.currency]) for e in economics],
        }


class ThresholdView(SignedInRequiredMixin, View):
    """Set the low-balance threshold of one currency (POST from the dashboard)."""

    def post(self, request):
        form = ThresholdForm(request.POST)
        currency = request.POST.get("currency", "")
        if form.is_valid():
            try:
                threshold_set(
                    actor_id=request.viewer.actor_id,
                    currency=form.cleaned_data["currency"],
                    amount=form.amount_minor("amount", form.cleaned_data["currency"]),
                )
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                messages.success(request, f"Low-balance notice for {currency} saved.")
                return redirect("console:dashboard")
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label or 'Threshold'}: {' '.join(errors)}")
        return redirect("console:dashboard")


@method_decorator(csp_update({"style-src": ["'unsafe-inline'"]}), name="dispatch")
class DailyChartView(SignedInRequiredMixin, View):
    """The dashboard's chart as an SVG image (its styles are inside the SVG; no script)."""

    def get(self, request):
        currency = request.GET.get("currency", "")
        if currency not in currencies():
            raise Http404("no such currency")
        economics = {e.currency: e for e in actor_economics(actor_id=request.viewer.actor_id)}
        svg = daily_income_expense_svg(currency, economics[currency].daily)
        return HttpResponse(svg, content_type="image/svg+xml")
