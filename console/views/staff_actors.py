"""Staff: the actors, their roles and accounts; credit an account with a reason (a deposit through
market.services.ledger, recorded in the audit log); grant or revoke a role."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView, View

from console.access import StaffRequiredMixin
from console.forms_staff import CreditForm, RoleForm, market_error_on
from console.views.staff import cursor_page
from market.errors import MarketError
from market.money import format_amount
from market.selectors import operator_desk
from market.services import ledger
from web3api.identity.services import role_grant, role_holders, role_revoke, roles_of


class ActorsView(StaffRequiredMixin, TemplateView):
    template_name = "console/staff/actors.html"

    def get_context_data(self, credit_form=None, **kwargs):
        actor = (self.request.GET.get("actorId") or "").strip().lower()
        filters = {"actorId": actor} if actor else {}
        page = cursor_page(self.request, operator_desk.actor_accounts(filters=filters), filters)
        roles = roles_of([a.actor_id for a in page["items"]])
        for account in page["items"]:
            account.roles = roles.get(account.actor_id, [])
        return {
            **super().get_context_data(**kwargs),
            "title": "Actors",
            "actor_filter": actor,
            "page": page,
            "role_holders": role_holders(),
            "credit_form": credit_form or CreditForm(initial={"actor_id": actor} if actor else None),
            "role_form": RoleForm(),
        }


class CreditView(StaffRequiredMixin, View):
    def post(self, request):
        form = CreditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ledger.deposit(
                    actor_id=data["actor_id"],
                    amount=data["minor"],
                    currency=data["currency"],
                    by_actor_id=request.viewer.actor_id,
                    reason=data["reason"],
                )
            except MarketError as exc:
                market_error_on(form, exc, {"actorId": "actor_id"})
            else:
                shown = f"{format_amount(data['minor'], data['currency'])} {data['currency']}"
                messages.success(request, f"Credited {shown} to {data['actor_id']}: {data['reason']}.")
                return redirect(f"{reverse('console:actors')}?actorId={data['actor_id']}")
        view = ActorsView(request=request, kwargs={}, args=())
        response = view.render_to_response(view.get_context_data(credit_form=form))
        response.status_code = 400
        return response


class RoleView(StaffRequiredMixin, View):
    def post(self, request):
        form = RoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Name an actor (0x and 40 hex digits) and a role.")
            return redirect("console:actors")
        actor, role = form.cleaned_data["actor_id"].lower(), form.cleaned_data["role"]
        if form.cleaned_data["grant"] == "grant":
            changed = role_grant(actor_id=actor, role=role)
            messages.success(request, f"{actor} {'is now' if changed else 'already was'} {role}.")
        else:
            if actor == request.viewer.actor_id and role == "staff":
                messages.error(request, "You cannot take the staff role from yourself here.")
                return redirect("console:actors")
            changed = role_revoke(actor_id=actor, role=role)
            messages.success(request, f"{actor} {'is no longer' if changed else 'was not'} {role}.")
        return redirect("console:actors")
