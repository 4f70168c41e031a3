"""Forms of the staff and arbitrator pages. Each posts to one service; a refusal of the service
(a MarketError) comes back on the form as field messages in plain words (its details.fields)."""

from __future__ import annotations

from django import forms

from market.errors import MarketError
from market.models import AlertRule, Dispute, Lease, Resource, Transfer
from market.money import currencies, parse_amount
from market.selectors.monitor import METRICS

ACTOR_ID = r"^0x[0-9a-fA-F]{40}$"


def market_error_on(form: forms.Form, exc: MarketError, fields: dict[str, str] | None = None) -> None:
    """Put the service's refusal on the form: each of details.fields on its field (named as the
    API names it; `fields` maps those names to the form's), the message otherwise."""
    named = (exc.details or {}).get("fields") or {}
    placed = False
    for name, text in named.items():
        field = (fields or {}).get(name, name)
        if field in form.fields:
            form.add_error(field, str(text))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _choices(values, blank="any") -> list[tuple[str, str]]:
    return [("", blank), *[(v, v) for v in values]]


# --- list filters (GET) ---------------------------------------------------------------------------
class ResourceFilterForm(forms.Form):
    status = forms.ChoiceField(choices=_choices(Resource.Status.values), required=False)
    kind = forms.ChoiceField(choices=_choices(Resource.Kind.values), required=False)
    providerActorId = forms.RegexField(ACTOR_ID, required=False, label="Provider")


class LeaseFilterForm(forms.Form):
    status = forms.ChoiceField(choices=_choices(Lease.Status.values), required=False)
    stuck = forms.ChoiceField(choices=[("", "any"), ("true", "stuck only")], required=False, label="Stuck")
    consumerActorId = forms.RegexField(ACTOR_ID, required=False, label="Consumer")
    providerActorId = forms.RegexField(ACTOR_ID, required=False, label="Provider")

    def filters(self) -> dict:
        data = dict(self.cleaned_data)
        data["stuck"] = True if data.get("stuck") == "true" else None
        return {k: (v.lower() if isinstance(v, str) and k.endswith("ActorId") else v) for k, v in data.items()}


class LedgerFilterForm(forms.Form):
    code = forms.ChoiceField(choices=_choices(Transfer.Code.values), required=False)
    currency = forms.ChoiceField(choices=[("", "any"), *[(c, c) for c in currencies()]], required=False)
    actorId = forms.CharField(max_length=42, required=False, label="Actor")
    reference = forms.CharField(max_length=120, required=False, help_text="e.g. lease:lease_…")


class TraceForm(forms.Form):
    traceType = forms.ChoiceField(
        choices=[(t, t) for t in ("lease", "settlement", "task", "dispute", "resource")], label="Object type"
    )
    traceId = forms.CharField(max_length=64, label="Object id")


class DisputeFilterForm(forms.Form):
    status = forms.ChoiceField(choices=_choices(Dispute.Status.values), required=False)


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=_choices(["alert_active", "alert_acknowledged", "alert_resolved"]), required=False
    )
    severity = forms.ChoiceField(choices=_choices(AlertRule.Severity.values), required=False)


# --- actions (POST) -------------------------------------------------------------------------------
class CreditForm(forms.Form):
    actor_id = forms.RegexField(
        ACTOR_ID, label="Actor", error_messages={"invalid": "Enter a wallet address: 0x and 40 hex digits."}
    )
    amount = forms.CharField(max_length=40, label="Amount", help_text="A decimal amount, e.g. 25.50")
    currency = forms.ChoiceField(choices=[(c, c) for c in currencies()])
    reason = forms.CharField(max_length=500, label="Reason", help_text="Recorded in the audit log.")

    def clean(self):
        data = super().clean()
        if "amount" in data and "currency" in data:
            try:
                data["minor"] = parse_amount(data["amount"], data["currency"], field="amount")
            except MarketError as exc:
                market_error_on(self, exc)
        if "actor_id" in data:
            data["actor_id"] = data["actor_id"].lower()
        return data


class RoleForm(forms.Form):
    actor_id = forms.RegexField(ACTOR_ID, label="Actor")
    role = forms.ChoiceField(choices=[("staff", "staff"), ("arbitrator", "arbitrator")])
    grant = forms.ChoiceField(choices=[("grant", "grant"), ("revoke", "revoke")], label="Grant or revoke")


class RuleEditForm(forms.Form):
    name = forms.CharField(widget=forms.HiddenInput)
    threshold = forms.DecimalField(max_digits=20, decimal_places=6, label="Threshold")
    for_sec = forms.IntegerField(min_value=0, max_value=86400, label="Holds for (seconds)")
    severity = forms.ChoiceField(choices=[(s, s) for s in AlertRule.Severity.values])
    enabled = forms.BooleanField(required=False, label="Enabled")

    def fields_to_save(self) -> dict:
        return {k: self.cleaned_data[k] for k in ("threshold", "for_sec", "severity", "enabled")}


class SilenceForm(forms.Form):
    name = forms.CharField(widget=forms.HiddenInput)
    minutes = forms.TypedChoiceField(
        coerce=int,
        choices=[(0, "lift the silence"), (30, "30 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "1 day")],
        label="Silence for",
    )


class AcknowledgeForm(forms.Form):
    alert_id = forms.CharField(max_length=40, widget=forms.HiddenInput)


class RetrySweepForm(forms.Form):
    job = forms.CharField(max_length=40, widget=forms.HiddenInput)


class RulingForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("rule", "Rule: split the amount"), ("decline", "Decline: the outcome before the dispute stands")],
        widget=forms.RadioSelect,
        label="Decision",
    )
    payee_share_bps = forms.IntegerField(
        min_value=0,
        max_value=10000,
        initial=5000,
        label="Deliverer's share (basis points, 10000 = all)",
        widget=forms.NumberInput(attrs={"type": "range", "min": 0, "max": 10000, "step": 100}),
    )
    rationale = forms.CharField(widget=forms.Textarea, max_length=4000, label="Rationale")

    FIELDS = {"payeeShareBps": "payee_share_bps", "rationale": "rationale", "decision": "decision"}


METRIC_NAMES = list(METRICS)
