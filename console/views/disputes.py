"""Disputes the actor is party to (arbitrators and staff see all): the reason, the evidence in
order (the market's own bundle first), the ruling and its seal; evidence upload (text, or a file
whose sha256 the page computes; the file itself is not kept) and appeal."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from console.forms import MarketForm, apply_market_error
from console.paging import page_of, query_without_page
from market.canonical import sha256_text
from market.errors import MarketError, NotFound
from market.models import Dispute
from market.selectors.disputes import dispute_get, dispute_list, disputes_sealed
from market.selectors.task_actions import allows
from market.services.disputes import dispute_appeal, evidence_submit

MAX_FILE_BYTES = 10 * 1024 * 1024


class DisputeFilterForm(MarketForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Dispute.Status.choices])


class EvidenceForm(MarketForm):
    content = forms.CharField(
        label="Statement", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )
    file = forms.FileField(
        label="Or a file", required=False, help_text="Its sha256 is recorded; the file itself is not uploaded."
    )
    sha256 = forms.RegexField(
        r"^[0-9a-f]{64}$", label="File sha256", required=False, help_text="Computed by the page from the file."
    )
    uri = forms.CharField(label="Where the file can be found (optional)", required=False, max_length=500)

    def evidence(self) -> dict:
        d = self.cleaned_data
        if d.get("content"):
            return {
                "kind": "text",
                "content": d["content"],
                "sha256": sha256_text(d["content"]),
                "uri": d.get("uri") or "",
            }
        upload = d.get("file")
        digest = d.get("sha256") or ""
        name = ""
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                raise forms.ValidationError({"file": f"at most {MAX_FILE_BYTES // (1024 * 1024)} MB"})
            hasher = hashlib.sha256()
            for chunk in upload.chunks():
                hasher.update(chunk)
            digest, name = hasher.hexdigest(), upload.name
        if not digest:
            raise forms.ValidationError("write a statement or choose a file")
        return {"kind": "file", "content": "", "sha256": digest, "uri": d.get("uri") or f"file:{name or digest}"}


class AppealForm(MarketForm):
    reason = forms.CharField(label="Why you appeal", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class DisputeListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/disputes/list.html"

    def get_context_data(self, **kwargs):
        viewer = self.request.viewer
        form = DisputeFilterForm(self.request.GET)
        disputes = Dispute.objects.none()
        if form.is_valid():
            disputes = dispute_list(
                actor_id=viewer.actor_id,
                filters=form.cleaned_data,
                is_staff=viewer.is_staff,
                is_arbitrator=viewer.is_arbitrator,
            ).order_by("-pk")
        page = page_of(disputes, self.request)
        page.items = disputes_sealed(page.items)
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "page_obj": page,
            "query": query_without_page(self.request),
        }


class DisputeDetailView(SignedInRequiredMixin, View):
    template_name = "console/disputes/detail.html"

    def _dispute(self, request, dispute_id):
        v = request.viewer
        try:
            return dispute_get(
                dispute_id=dispute_id, actor_id=v.actor_id, is_staff=v.is_staff, is_arbitrator=v.is_arbitrator
            )
        except NotFound:
            return None

    def _page(self, request, dispute, status=200, **bound):
        party = request.viewer.actor_id in dispute.parties
        context = {
            "dispute": dispute,
            "is_party": party,
            "can_add_evidence": party and dispute.status in Dispute.LIVE,
            "can_appeal": party and allows(dispute, "appeal") and dispute.paid_out_at is None and dispute.round == 1,
            "evidence_form": bound.get("evidence") or EvidenceForm(),
            "appeal_form": bound.get("appeal") or AppealForm(),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, dispute_id):
        dispute = self._dispute(request, dispute_id)
        if dispute is None:
            return render(request, "console/404.html", {"what": "dispute"}, status=404)
        return self._page(request, dispute)

    def post(self, request, dispute_id):
        dispute = self._dispute(request, dispute_id)
        if dispute is None:
            return render(request, "console/404.html", {"what": "dispute"}, status=404)
        v = request.viewer
        if request.POST.get("action") == "appeal":
            form = AppealForm(request.POST)
            if form.is_valid():
                try:
                    dispute_appeal(
                        dispute_id=dispute.dispute_id, actor_id=v.actor_id, reason=form.cleaned_data["reason"]
                    )
                except MarketError as exc:
                    apply_market_error(form, exc)
                else:
                    messages.success(request, "Appeal filed: a different arbitrator will rule.")
                    return redirect("console:dispute", dispute_id=dispute.dispute_id)
            return self._page(request, dispute, 400, appeal=form)
        form = EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                evidence_submit(dispute_id=dispute.dispute_id, actor_id=v.actor_id, **form.evidence())
            except forms.ValidationError as exc:
                form.add_error(None, exc)
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                messages.success(request, "Evidence added.")
                return redirect("console:dispute", dispute_id=dispute.dispute_id)
        return self._page(request, dispute, 400, evidence=form)
