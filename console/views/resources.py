"""Resources: discover (the index's filters, price, health), onboard one (publish, with a Test
call first), a resource's page (leases, calls, income, index health and reputation; unpublish;
lease it; report it to the index)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from console.forms import apply_market_error
from console.forms_resources import DiscoverForm, LeaseForm, OnboardForm, TestCallForm
from console.paging import PAGE_SIZE, Page, page_number, query_without_page
from market.errors import MarketError, NotFound
from market.money import parse_amount
from market.selectors.index import provider_reputation, resource_health
from market.selectors.resource_pages import discover_filters, discover_page, index_entry_for, resource_activity
from market.selectors.resources import resource_get
from market.services.index import index_report
from market.services.leases import lease_issue
from market.services.probe import resource_probe
from market.services.resources import resource_publish, resource_unpublish


class ResourceListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/resources/list.html"

    def get_context_data(self, **kwargs):
        viewer = self.request.viewer
        form = DiscoverForm(self.request.GET)  # every field optional: an empty query lists what is on offer
        page = Page([], page_number(self.request), False)
        if form.is_valid():
            try:
                filters = discover_filters(form.filters(viewer.actor_id))
                rows, more = discover_page(
                    actor_id=viewer.actor_id, filters=filters, offset=(page.number - 1) * PAGE_SIZE, limit=PAGE_SIZE
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


def _test_result(request, form: TestCallForm):
    if not form.is_valid():
        return {"problem": "Give a backend and an endpoint to test."}
    try:
        result = resource_probe(
            backend=form.cleaned_data["backend"],
            endpoint=form.cleaned_data["endpoint"],
            access_token=form.cleaned_data.get("access_token") or "",
        )
    except MarketError as exc:
        return {"problem": exc.details.get("fields", {}).get("endpoint", exc.message)}
    return {"result": result}


class ResourceCreateView(SignedInRequiredMixin, View):
    """GET: the onboarding form. POST with action=test: a Test call (the form comes back without
    endpoint and token); action=publish: publish and go to the resource's page."""

    template_name = "console/resources/new.html"

    def get(self, request):
        return render(request, self.template_name, {"form": OnboardForm()})

    def post(self, request):
        form = OnboardForm(request.POST)
        if request.POST.get("action") == "test":
            test = _test_result(request, TestCallForm(request.POST))
            return render(
                request, self.template_name, {"form": OnboardForm(initial=_public(request.POST)), "test": test}
            )
        if form.is_valid():
            try:
                resource = resource_publish(provider_actor_id=request.viewer.actor_id, **form.publish_kwargs())
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                messages.success(request, f"Published {resource.name}. Its endpoint and token are stored encrypted.")
                return redirect("console:resource", resource_id=resource.resource_id)
        return render(request, self.template_name, {"form": form}, status=400)


def _public(post) -> dict:
    """What of a posted onboarding form may be shown again: everything but endpoint and token."""
    return {k: v for k, v in post.items() if k not in ("endpoint", "access_token", "csrfmiddlewaretoken")}


class TestCallView(SignedInRequiredMixin, View):
    """The Test call as a fragment (htmx): status, latency and a short excerpt, nothing else."""

    def post(self, request):
        return render(
            request, "console/resources/test_result.html", {"test": _test_result(request, TestCallForm(request.POST))}
        )


class ResourceDetailView(SignedInRequiredMixin, View):
    template_name = "console/resources/detail.html"

    def _context(self, request, resource, **extra):
        viewer = request.viewer
        is_provider = resource.provider_actor_id == viewer.actor_id
        context = {
            "resource": resource,
            "is_provider": is_provider,
            "health": resource_health(resource),
            "reputation": provider_reputation(resource.provider_actor_id),
            "activity": resource_activity(resource=resource, actor_id=viewer.actor_id, is_staff=viewer.is_staff),
            "lease_form": LeaseForm(),
        }
        if is_provider:
            entry, digest = index_entry_for(resource)
            context.update(index_entry=json.dumps(entry), index_digest=digest)
        context.update(extra)
        return context

    def _resource(self, request, resource_id):
        try:
            return resource_get(resource_id=resource_id, actor_id=request.viewer.actor_id)
        except NotFound:
            return None

    def get(self, request, resource_id):
        resource = self._resource(request, resource_id)
        if resource is None:
            return render(request, "console/404.html", {"what": "resource"}, status=404)
        return render(request, self.template_name, self._context(request, resource))

    def post(self, request, resource_id):
        resource = self._resource(request, resource_id)
        if resource is None:
            return render(request, "console/404.html", {"what": "resource"}, status=404)
        action = request.POST.get("action")
        actor_id = request.viewer.actor_id
        try:
            if action == "unpublish":
                resource_unpublish(resource_id=resource.resource_id, actor_id=actor_id)
                messages.success(request, f"Unpublished {resource.name}: it takes no new leases; running leases go on.")
            elif action == "report":
                entry = json.loads(request.POST.get("entry") or "{}")
                index_report(
                    resource_id=resource.resource_id,
                    actor_id=actor_id,
                    entry=entry,
                    signature=request.POST.get("signature", "").strip(),
                )
                messages.success(request, "Reported to the index: the resource shows as fresh.")
            elif action == "lease":
                return self._lease(request, resource)
        except (MarketError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "The index entry is not JSON."))
        return redirect("console:resource", resource_id=resource.resource_id)

    def _lease(self, request, resource):
        form = LeaseForm(request.POST)
        if form.is_valid():
            try:
                max_cost = parse_amount(form.cleaned_data["max_cost"], resource.currency, field="maxCost")
                lease = lease_issue(
                    resource_id=resource.resource_id,
                    consumer_actor_id=request.viewer.actor_id,
                    max_cost=max_cost,
                    currency=resource.currency,
                    ttl_sec=form.cleaned_data["ttl_sec"],
                    max_cost_text=form.cleaned_data["max_cost"],
                )
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                messages.success(
                    request, f"Leased {resource.name}: {form.cleaned_data['max_cost']} {resource.currency} locked."
                )
                return redirect("console:lease", lease_id=lease.lease_id)
        return render(request, self.template_name, self._context(request, resource, lease_form=form), status=400)
