"""Staff pages (the operator's console): the overview, and the whole market's resources, leases
with their settlements, and ledger with the audit log. Each reads through the same selectors as
web3.admin.*; the one action here (retry a failed sweep) runs the job as beat would."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import TemplateView, View

from console.access import StaffRequiredMixin
from console.forms_staff import LeaseFilterForm, LedgerFilterForm, ResourceFilterForm, RetrySweepForm, TraceForm
from market.errors import InvalidArgument, MarketError
from market.selectors import audit as audit_selectors
from market.selectors import operator, operator_lists
from web3api.overview import overview_read
from web3api.pagination import paginate

PAGE_SIZE = 50


def cursor_page(request, qs, filters: dict) -> dict:
    """A page of `qs` in the API's cursor style, with the query string of the next page."""
    params = {"limit": PAGE_SIZE}
    if request.GET.get("cursor"):
        params["cursor"] = request.GET["cursor"]
    try:
        page = paginate(qs, params)
    except InvalidArgument:  # a stale or edited cursor: start again
        page = paginate(qs, {"limit": PAGE_SIZE})
    kept = {k: v for k, v in filters.items() if v not in (None, "", False)}
    page["next_query"] = urlencode({**kept, "cursor": page["nextCursor"]}) if page["nextCursor"] else ""
    page["first_query"] = urlencode(kept) if params.get("cursor") else ""
    return page


def filter_values(form) -> dict:
    return {k: v for k, v in form.cleaned_data.items() if v not in (None, "")} if form.is_valid() else {}


class OverviewView(StaffRequiredMixin, TemplateView):
    template_name = "console/staff/overview.html"

    def get_context_data(self, **kwargs):
        figures = overview_read()
        for queued in figures["settlements"]["oldest"]:
            queued["waitingText"] = operator.WAITING_FOR.get(queued["waitingFor"], "")
        return {**super().get_context_data(**kwargs), "title": "Overview", "o": figures, "retry_form": RetrySweepForm()}


class RetrySweepView(StaffRequiredMixin, View):
    def post(self, request):
        from django.conf import settings

        from openclaw.periodic import run_job

        form = RetrySweepForm(request.POST)
        job = form.data.get("job", "")
        if not form.is_valid() or job not in settings.WEB3_MONEY_JOBS:
            messages.error(request, "That is not a money sweep; nothing was run.")
            return redirect("console:staff-leases")
        try:
            result = run_job(job)
        except Exception:  # noqa: BLE001 - the job's failure is recorded by run_job and logged
            messages.error(request, f"The sweep {job} failed again; its failure is recorded (see the log).")
        else:
            messages.success(request, f"The sweep {job} ran: {result}.")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
            back = ""
        return redirect(back or "console:staff-leases")


class StaffResourcesView(StaffRequiredMixin, TemplateView):
    template_name = "console/staff/resources.html"

    def get_context_data(self, **kwargs):
        form = ResourceFilterForm(self.request.GET or None)
        filters = filter_values(form) if form.is_bound else {}
        if filters.get("providerActorId"):
            filters["providerActorId"] = filters["providerActorId"].lower()
        page = cursor_page(self.request, operator_lists.operator_resources(filters=filters), filters)
        page["items"] = operator_lists.operator_resources_shown(page["items"])
        return {**super().get_context_data(**kwargs), "title": "All resources", "form": form, "page": page}


class StaffLeasesView(StaffRequiredMixin, TemplateView):
    template_name = "console/staff/leases.html"

    def get_context_data(self, **kwargs):
        form = LeaseFilterForm(self.request.GET or None)
        filters = form.filters() if form.is_bound and form.is_valid() else {}
        filters = {k: v for k, v in filters.items() if v not in (None, "")}
        page = cursor_page(self.request, operator_lists.operator_leases(filters=filters), filters)
        return {
            **super().get_context_data(**kwargs),
            "title": "Leases and settlements",
            "form": form,
            "page": page,
            "stuck": operator.stuck_lease_count(),
            "failed_sweeps": operator.failed_sweeps(),
            "queue": operator.settlement_queue(limit=20),
        }


class StaffLedgerView(StaffRequiredMixin, TemplateView):
    """Transfers, the newest audit events with their checkpoints, one object's trace (?traceType=
    &traceId=) and one event's inclusion proof (?event=)."""

    template_name = "console/staff/ledger.html"

    def get_context_data(self, **kwargs):
        get = self.request.GET
        form = LedgerFilterForm({k: get[k] for k in LedgerFilterForm.base_fields if k in get} or None)
        filters = filter_values(form) if form.is_bound else {}
        page = cursor_page(self.request, operator_lists.operator_transfers(filters=filters), filters)
        trace_form = TraceForm(get if "traceType" in get else None)
        trace = proof = None
        problem = ""
        viewer = self.request.viewer
        if trace_form.is_bound and trace_form.is_valid():
            try:
                trace = operator_lists.object_trace(
                    object_type=trace_form.cleaned_data["traceType"],
                    object_id=trace_form.cleaned_data["traceId"],
                    actor_id=viewer.actor_id,
                )
            except MarketError:
                problem = "No audit events name that object."
        if get.get("event"):
            try:
                proof = audit_selectors.audit_proof(event_id=get["event"], actor_id=viewer.actor_id, is_staff=True)
            except MarketError as exc:
                problem = f"No proof for that event: {exc.message}."
        return {
            **super().get_context_data(**kwargs),
            "title": "Ledger and audit",
            "form": form,
            "trace_form": trace_form if trace_form.is_bound else TraceForm(),
            "page": page,
            "trace": trace,
            "proof": proof,
            "problem": problem,
            "events": operator_lists.recent_events(),
            "checkpoint": operator_lists.latest_checkpoint(),
        }
