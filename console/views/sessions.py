"""The butler's wallet in the console: the owner's agent tokens (issue with scopes and a spend
policy, the token shown once; revoke), its sessions (budget, accrued, the per-provider lines, the
settlement and the hook trail with each event's hash and seal), and the sessions that wait for the
owner's approval (Approve / Decline). Each page calls the functions the web3.* methods call."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from console.forms import apply_market_error
from console.forms_sessions import AgentTokenForm
from console.paging import page_of
from market.errors import MarketError, NotFound
from market.models import Session
from market.selectors import audit as audit_selectors
from market.selectors import sessions as selectors
from market.selectors import trail as trail_selectors
from market.selectors.limits import limits_current
from market.services.sessions import session_decide
from web3api.identity import agents
from web3api.registry import all_methods

TRAIL_SHOWN = 50
PENDING_SHOWN = 20


class AgentTokensView(SignedInRequiredMixin, TemplateView):
    template_name = "console/sessions/tokens.html"

    def get_context_data(self, form=None, issued=None, **kwargs):
        owner = self.request.viewer.actor_id
        tokens = agents.agent_tokens_visible(owner_actor_id=owner).select_related("parent").order_by("-pk")
        page = page_of(tokens, self.request)
        for token in page.items:
            token.policy_shown = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in token.policy.items()]
        return {
            **super().get_context_data(**kwargs),
            "page_obj": page,
            "form": form or AgentTokenForm(),
            "issued": issued,
            "limits": limits_current(),
        }

    def post(self, request):
        form = AgentTokenForm(request.POST)
        if form.is_valid():
            try:
                issued = agents.agent_token_issue(
                    owner_actor_id=request.viewer.actor_id,
                    label=form.cleaned_data["label"],
                    scopes=form.all_scopes(),
                    policy=form.policy(),
                    ttl_sec=form.cleaned_data["ttlSec"],
                    method_names=[m.name for m in all_methods()],
                )
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                # Shown on this answer only, never stored where a later page could show it again.
                return self.render_to_response(self.get_context_data(issued=issued))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class AgentTokenRevokeView(SignedInRequiredMixin, View):
    def post(self, request, token_id: str):
        try:
            row = agents.agent_token_revoke(owner_actor_id=request.viewer.actor_id, token_id=token_id)
        except NotFound as exc:
            raise Http404("no such agent token") from exc
        messages.success(request, f"Agent token {row.label!r} ({row.token_id}) and those issued from it are revoked.")
        return redirect("console:agent-tokens")


class SessionListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/sessions/list.html"

    def get_context_data(self, **kwargs):
        owner = self.request.viewer.actor_id
        pending = selectors.session_list(actor_id=owner, status=Session.Status.PENDING_APPROVAL).order_by("-pk")
        return {
            **super().get_context_data(**kwargs),
            "pending": list(pending[:PENDING_SHOWN]),
            "page_obj": page_of(selectors.session_list(actor_id=owner).order_by("-pk"), self.request),
        }


def _trail(session: Session, viewer) -> list:
    qs = trail_selectors.session_trail(session_id=session.session_id, actor_id=viewer.actor_id)
    events = list(audit_selectors.audit_events(actor_id=viewer.actor_id, filters={}, queryset=qs)[:TRAIL_SHOWN])
    for event in events:
        event.content = json.loads(event.payload)
    return events


class SessionDetailView(SignedInRequiredMixin, TemplateView):
    template_name = "console/sessions/detail.html"

    def get_context_data(self, **kwargs):
        viewer = self.request.viewer
        try:
            session = selectors.session_get(session_id=kwargs["session_id"], actor_id=viewer.actor_id)
        except NotFound as exc:
            raise Http404("no such session") from exc
        return {
            **super().get_context_data(**kwargs),
            "session": session,
            "lines": selectors.session_lines(session),
            "settlement": session.settlement,
            "trail": _trail(session, viewer),
            "trail_shown": TRAIL_SHOWN,
        }


class SessionDecideView(SignedInRequiredMixin, View):
    """Approve or decline a session that waits (web3.sessions.approve|decline)."""

    def post(self, request, session_id: str):
        approve = request.POST.get("decision") == "approve"
        try:
            session = session_decide(session_id=session_id, actor_id=request.viewer.actor_id, approve=approve)
        except NotFound as exc:
            raise Http404("no such session") from exc
        except MarketError as exc:
            messages.error(request, f"Session {session_id}: {exc.message}.")
        else:
            verb = "approved: its budget is locked" if approve else "declined: nothing was locked"
            messages.success(request, f"Session {session.label or session.session_id} {verb}.")
        return redirect("console:sessions")
