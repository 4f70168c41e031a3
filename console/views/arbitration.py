"""The arbitrators' workspace: the disputes awaiting a ruling, and for one dispute its evidence
timeline, the parties' history with each other, the ruling form (the deliverer's share as a slider,
the amounts it moves computed by the server), the appeal state and the seal of each ruling."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView, View

from console.access import ArbitratorRequiredMixin
from console.forms_staff import DisputeFilterForm, RulingForm, market_error_on
from console.views.staff import cursor_page, filter_values
from market.errors import MarketError, NotFound
from market.money import format_amount
from market.selectors import arbitration
from market.selectors.operator_lists import operator_disputes, operator_disputes_shown
from market.services import disputes as dispute_services


class ArbitrationListView(ArbitratorRequiredMixin, TemplateView):
    template_name = "console/arbitration/list.html"

    def get_context_data(self, **kwargs):
        form = DisputeFilterForm(self.request.GET or None)
        filters = filter_values(form) if form.is_bound else {}
        page = cursor_page(
            self.request, operator_disputes(actor_id=self.request.viewer.actor_id, filters=filters), filters
        )
        page["items"] = operator_disputes_shown(page["items"])
        return {**super().get_context_data(**kwargs), "title": "Arbitration", "form": form, "page": page}


def _share(request, default: int = 5000) -> int:
    try:
        return max(0, min(10000, int(request.GET.get("payee_share_bps", default))))
    except ValueError:
        return default


class WorkspaceMixin(ArbitratorRequiredMixin):
    def workspace(self, dispute_id: str) -> arbitration.Workspace:
        viewer = self.request.viewer
        try:
            return arbitration.dispute_workspace(
                dispute_id=dispute_id,
                actor_id=viewer.actor_id,
                is_staff=viewer.is_staff,
                is_arbitrator=viewer.is_arbitrator,
            )
        except NotFound:
            raise Http404("no such dispute") from None


class WorkspaceView(WorkspaceMixin, TemplateView):
    template_name = "console/arbitration/workspace.html"

    def get_context_data(self, form=None, **kwargs):
        ws = self.workspace(self.kwargs["dispute_id"])
        share = None
        if form is not None:
            share = form.data.get("payee_share_bps") if form.is_bound else form.initial.get("payee_share_bps")
        try:
            bps = int(share) if share not in (None, "") else _share(self.request)
        except ValueError:
            bps = 5000
        form = form or RulingForm(initial={"payee_share_bps": bps, "decision": "rule"})
        return {
            **super().get_context_data(**kwargs),
            "title": f"Dispute {ws.dispute.dispute_id}",
            "ws": ws,
            "d": ws.dispute,
            "form": form,
            "split": arbitration.ruling_preview(ws, bps),
        }


class SplitView(WorkspaceMixin, TemplateView):
    """The amounts a share would move, as a fragment the workspace's script swaps in (the page
    shows the same, computed here, on submit of "Show amounts" without JavaScript)."""

    template_name = "console/arbitration/_split.html"

    def get_context_data(self, **kwargs):
        ws = self.workspace(self.kwargs["dispute_id"])
        return {"split": arbitration.ruling_preview(ws, _share(self.request))}


class RuleView(WorkspaceMixin, View):
    def post(self, request, dispute_id: str):
        ws = self.workspace(dispute_id)
        form = RulingForm(request.POST)
        if "preview" in request.POST:  # "Show amounts": the page again, with the amounts of this share
            initial = {k: request.POST.get(k) for k in ("decision", "payee_share_bps", "rationale")}
            return self._page(request, dispute_id, RulingForm(initial=initial), 200)
        if form.is_valid() and not ws.may_rule:
            form.add_error(None, f"You may not rule on this dispute: {ws.why_not}.")
        if form.is_valid():
            data = form.cleaned_data
            share = data["payee_share_bps"] if data["decision"] == "rule" else None
            try:
                dispute = dispute_services.dispute_resolve(
                    dispute_id=dispute_id,
                    actor_id=request.viewer.actor_id,
                    decision=data["decision"],
                    rationale=data["rationale"],
                    payee_share_bps=share,
                )
            except MarketError as exc:
                market_error_on(form, exc, RulingForm.FIELDS)
            else:
                messages.success(request, _ruled_message(ws, dispute, share))
                return redirect("console:arbitration-dispute", dispute_id=dispute_id)
        return self._page(request, dispute_id, form, 400)

    @staticmethod
    def _page(request, dispute_id: str, form: RulingForm, status: int):
        view = WorkspaceView(request=request, kwargs={"dispute_id": dispute_id}, args=())
        response = view.render_to_response(view.get_context_data(form=form))
        response.status_code = status
        return response


def _ruled_message(ws: arbitration.Workspace, dispute, share: int | None) -> str:
    when = "once the appeal window closes" if dispute.appeal_deadline else "now (the ruling is final)"
    if share is None:
        return f"Declined: the outcome before the dispute stands; it is paid out {when}."
    split = arbitration.ruling_preview(ws, share)
    c = split.currency
    return (
        f"Ruled: {format_amount(split.to_payee, c)} {c} to the deliverer and {format_amount(split.to_payer, c)} {c} "
        f"back to the creator, paid out {when} and after the ruling is sealed in a checkpoint."
    )
