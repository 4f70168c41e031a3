"""Staff: the market-wide limits that bound every agent token's spend policy (web3.admin.getLimits|
setLimits): what is in force, the defaults, who changed them last; a form to change them (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from console.access import StaffRequiredMixin
from console.forms import apply_market_error
from console.forms_sessions import LimitsForm
from market.errors import MarketError
from market.selectors.limits import limits_view
from market.services.limits import limits_set


class LimitsView(StaffRequiredMixin, TemplateView):
    template_name = "console/staff/limits.html"

    def get_context_data(self, form=None, **kwargs):
        view = limits_view()
        initial = {name: value for name, value in view.values.items() if not view.is_default(name)}
        rows = [
            {"name": name, "value": value, "default": view.defaults[name], "is_default": view.is_default(name)}
            for name, value in view.values.items()
        ]
        return {
            **super().get_context_data(**kwargs),
            "title": "Market limits",
            "limits": view,
            "rows": rows,
            "form": form or LimitsForm(initial=initial),
        }

    def post(self, request):
        form = LimitsForm(request.POST)
        if form.is_valid():
            try:
                view = limits_set(by_actor_id=request.viewer.actor_id, changes=form.changes())
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                shown = ", ".join(f"{name} {value}" for name, value in view.values.items())
                messages.success(request, f"Market limits set: {shown}.")
                return redirect("console:staff-limits")
        return self.render_to_response(self.get_context_data(form=form), status=400)
