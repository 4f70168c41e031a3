"""Staff: alert rules (edit, silence), alerts (acknowledge, history), and the notification channels
with their delivery state. Every action goes through market.services.monitor."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView, View

from console.access import StaffRequiredMixin
from console.forms_staff import AcknowledgeForm, AlertFilterForm, RuleEditForm, SilenceForm, market_error_on
from console.views.staff import cursor_page, filter_values
from market.errors import MarketError
from market.selectors import monitor as monitor_selectors
from market.selectors import operator_desk
from market.services import monitor as monitor_services


class AlertsView(StaffRequiredMixin, TemplateView):
    template_name = "console/staff/alerts.html"

    def get_context_data(self, edit_form=None, **kwargs):
        form = AlertFilterForm(self.request.GET or None)
        filters = filter_values(form) if form.is_bound else {}
        history = cursor_page(self.request, monitor_selectors.alert_history(filters=filters), filters)
        rules = list(monitor_selectors.rule_list())
        editing = self.request.GET.get("edit")
        if edit_form is None and editing:
            rule = next((r for r in rules if r.name == editing), None)
            if rule is not None:
                edit_form = RuleEditForm(
                    initial={
                        "name": rule.name,
                        "threshold": rule.threshold,
                        "for_sec": rule.for_sec,
                        "severity": rule.severity,
                        "enabled": rule.enabled,
                    }
                )
        return {
            **super().get_context_data(**kwargs),
            "title": "Alerts",
            "now": timezone.now(),
            "rules": rules,
            "firing": list(monitor_selectors.firing_alerts()[:100]),
            "form": form,
            "history": history,
            "edit_form": edit_form,
            "editing_name": (edit_form.data.get("name") if edit_form.is_bound else edit_form.initial.get("name"))
            if edit_form
            else "",
            "silence_choices": SilenceForm.base_fields["minutes"].choices,
            "channels": operator_desk.notification_channels(),
            "notifications": operator_desk.recent_notifications(),
            "health": monitor_selectors.monitor_health(),
        }


class RuleEditView(StaffRequiredMixin, View):
    def post(self, request):
        form = RuleEditForm(request.POST)
        if form.is_valid():
            try:
                monitor_services.rule_upsert(
                    by_actor_id=request.viewer.actor_id, name=form.cleaned_data["name"], **form.fields_to_save()
                )
            except MarketError as exc:
                market_error_on(form, exc, {"forSec": "for_sec"})
            else:
                messages.success(request, f"Rule {form.cleaned_data['name']} saved.")
                return redirect("console:alerts")
        view = AlertsView(request=request, kwargs={}, args=())
        response = view.render_to_response(view.get_context_data(edit_form=form))
        response.status_code = 400
        return response


class SilenceView(StaffRequiredMixin, View):
    def post(self, request):
        form = SilenceForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose how long to silence the rule for.")
            return redirect("console:alerts")
        name, minutes = form.cleaned_data["name"], form.cleaned_data["minutes"]
        until = timezone.now() + timedelta(minutes=minutes) if minutes else None
        try:
            monitor_services.rule_upsert(by_actor_id=request.viewer.actor_id, name=name, silenced_until=until)
        except MarketError as exc:
            messages.error(request, f"Rule {name} was not changed: {exc.message}.")
        else:
            if until:
                messages.success(
                    request, f"Rule {name} silenced for {minutes} minutes: alerts are recorded, nobody is notified."
                )
            else:
                messages.success(request, f"Rule {name} is no longer silenced.")
        return redirect("console:alerts")


class AcknowledgeView(StaffRequiredMixin, View):
    def post(self, request):
        form = AcknowledgeForm(request.POST)
        if not form.is_valid():
            messages.error(request, "No alert named.")
            return redirect("console:alerts")
        alert_id = form.cleaned_data["alert_id"]
        try:
            alert = monitor_services.alert_acknowledge(alert_id=alert_id, by_actor_id=request.viewer.actor_id)
        except MarketError as exc:
            messages.error(request, f"Alert {alert_id} was not acknowledged: {exc.message}.")
        else:
            messages.success(request, f"Alert {alert.alert_id} ({alert.rule.name}) acknowledged: you are on it.")
        return redirect("console:alerts")
