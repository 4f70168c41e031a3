"""Leases: the actor's leases as consumer and provider (the API's LeaseFilter), a lease's page:
spent / remaining, its calls and its settlement; try it (a chat message for a model, a query for
search, any JSON for custom); revoke."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from console.forms import MarketForm, apply_market_error
from console.paging import PAGE_SIZE, Page, page_number, query_without_page
from market.errors import MarketError, NotFound
from market.models import Lease
from market.selectors.resource_pages import lease_activity, lease_page
from market.selectors.resources import lease_get
from market.services.invoke import invoke
from market.services.leases import lease_revoke

OUTPUT_CHARS = 2000


class LeaseFilterForm(MarketForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Lease.Status.choices])
    role = forms.ChoiceField(
        label="As",
        required=False,
        choices=[("", "Consumer or provider"), ("consumer", "Consumer"), ("provider", "Provider")],
    )


class LeaseListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/leases/list.html"

    def get_context_data(self, **kwargs):
        form = LeaseFilterForm(self.request.GET)
        page = Page([], page_number(self.request), False)
        if form.is_valid():
            try:
                rows, more = lease_page(
                    actor_id=self.request.viewer.actor_id,
                    filters=form.cleaned_data,
                    offset=(page.number - 1) * PAGE_SIZE,
                    limit=PAGE_SIZE,
                )
                page = Page(rows, page.number, more)
            except MarketError as exc:
                apply_market_error(form, exc)
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "page_obj": page,
            "query": query_without_page(self.request),
        }


class TryForm(forms.Form):
    message = forms.CharField(
        label="Message", required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    query = forms.CharField(label="Query", required=False, max_length=500)
    json_input = forms.CharField(
        label="Input (JSON)", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )


def _invoke_input(lease: Lease, form: TryForm) -> dict:
    backend = lease.resource.backend
    data = form.cleaned_data
    if backend == "openai-compat" and data.get("message"):
        return {"messages": [{"role": "user", "content": data["message"]}]}
    if backend == "searxng" and data.get("query"):
        return {"q": data["query"]}
    try:
        value = json.loads(data.get("json_input") or "{}")
    except ValueError:
        raise forms.ValidationError("the input is not JSON") from None
    return value


class LeaseDetailView(SignedInRequiredMixin, View):
    template_name = "console/leases/detail.html"

    def _lease(self, request, lease_id):
        try:
            return lease_get(lease_id=lease_id, actor_id=request.viewer.actor_id, is_staff=request.viewer.is_staff)
        except NotFound:
            return None

    def _page(self, request, lease, status=200, **extra):
        context = {
            "lease": lease,
            "settlement": lease.settlement,
            "activity": lease_activity(lease),
            "is_consumer": lease.consumer_actor_id == request.viewer.actor_id,
            "try_form": TryForm(),
            **extra,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, lease_id):
        lease = self._lease(request, lease_id)
        if lease is None:
            return render(request, "console/404.html", {"what": "lease"}, status=404)
        return self._page(request, lease)

    def post(self, request, lease_id):
        lease = self._lease(request, lease_id)
        if lease is None:
            return render(request, "console/404.html", {"what": "lease"}, status=404)
        actor_id = request.viewer.actor_id
        if request.POST.get("action") == "revoke":
            try:
                lease = lease_revoke(lease_id=lease.lease_id, actor_id=actor_id)
            except MarketError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Lease revoked: what was not spent went back to the consumer.")
            return redirect("console:lease", lease_id=lease.lease_id)
        form = TryForm(request.POST)
        answer = None
        if form.is_valid():
            try:
                result = invoke(lease_id=lease.lease_id, actor_id=actor_id, input=_invoke_input(lease, form))
            except forms.ValidationError as exc:
                form.add_error("json_input", exc)
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                text = json.dumps(result.output, indent=2, ensure_ascii=False)
                answer = {
                    "output": text[:OUTPUT_CHARS],
                    "cut": len(text) > OUTPUT_CHARS,
                    "units": result.units,
                    "cost": result.cost,
                }
                lease = self._lease(request, lease_id)
        return self._page(request, lease, status=200 if answer else 400, try_form=form, answer=answer)
