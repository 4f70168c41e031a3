"""Forms of the agents' pages: issuing an agent token (scopes and a spend policy) and the staff's
market-wide limits. Field names follow the API's params, so a refusal's details.fields lands on its
field (apply_market_error)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from console.forms import MarketForm, MoneyField
from web3api.registry import all_methods

TTL_CHOICES = [(3600, "1 hour"), (86400, "1 day"), (7 * 86400, "7 days"), (30 * 86400, "30 days")]
DEFAULT_SCOPES = ["web3.sessions.*", "web3.billing.*", "web3.hooks.*", "web3.resources.invoke"]
_WORDS = re.compile(r"[\s,]+")
_ACTOR = re.compile(r"0x[0-9a-f]{40}")
AMOUNT = RegexValidator(r"^[0-9]{1,18}(\.[0-9]{1,18})?$", 'A decimal amount such as "12.50".')


def scope_choices() -> list[tuple[str, str]]:
    groups = sorted({m.name.rsplit(".", 1)[0] for m in all_methods()})
    return [(f"{g}.*", f"{g}.*") for g in groups]


def _words(text: str) -> list[str]:
    return [w for w in _WORDS.split(text or "") if w]


class AgentTokenForm(MarketForm):
    label = forms.CharField(max_length=80, help_text="Recorded in every audit event the agent causes.")
    scopes = forms.MultipleChoiceField(
        label="Scope groups", required=False, widget=forms.CheckboxSelectMultiple, help_text="Every method of a group."
    )
    methods = forms.CharField(
        label="More scopes",
        required=False,
        max_length=2000,
        help_text="Method names, separated by spaces (web3.resources.invoke).",
    )
    ttlSec = forms.TypedChoiceField(label="Lives for", choices=TTL_CHOICES, coerce=int, initial=86400)
    sessionCap = MoneyField(label="Session cap", required=False, help_text="Most one session may spend.")
    dailyCap = MoneyField(label="Daily cap", required=False, help_text="Most spent in a UTC day.")
    counterpartyDailyCap = MoneyField(label="Per provider daily cap", required=False)
    approvalAbove = MoneyField(
        label="Approval above", required=False, help_text="A session with a larger budget waits for your approval."
    )
    currencies = forms.CharField(label="Currencies", required=False, max_length=200, help_text="Empty: any.")
    providerAllow = forms.CharField(
        label="Only these providers", required=False, max_length=9000, help_text="Actor ids, separated by spaces."
    )
    providerDeny = forms.CharField(label="Never these providers", required=False, max_length=9000)
    callsPerMinute = forms.IntegerField(label="Calls per minute", required=False, min_value=1, max_value=100_000)

    api_names = {f"policy.{name}": name for name in ("sessionCap", "dailyCap", "counterpartyDailyCap", "approvalAbove")}
    api_names |= {"policy.currencies": "currencies", "policy.providerAllow": "providerAllow"}
    api_names |= {"policy.providerDeny": "providerDeny", "policy.callsPerMinute": "callsPerMinute"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = scope_choices()
        for name in ("sessionCap", "dailyCap", "counterpartyDailyCap", "approvalAbove"):
            self.fields[name].validators.append(AMOUNT)
        if not self.is_bound:
            self.initial.setdefault("scopes", [s for s in DEFAULT_SCOPES if s.endswith(".*")])
            self.initial.setdefault("methods", " ".join(s for s in DEFAULT_SCOPES if not s.endswith(".*")))

    def clean(self):
        data = super().clean()
        for name in ("providerAllow", "providerDeny"):
            if any(not _ACTOR.fullmatch(w.lower()) for w in _words(data.get(name, ""))):
                self.add_error(name, "Actor ids: 0x and 40 hex digits each.")
        if not data.get("scopes") and not _words(data.get("methods", "")):
            self.add_error("scopes", "Choose at least one scope.")
        return data

    def all_scopes(self) -> list[str]:
        return [*self.cleaned_data.get("scopes", []), *_words(self.cleaned_data.get("methods", ""))]

    def policy(self) -> dict[str, Any]:
        data, out = self.cleaned_data, {}
        for name in ("sessionCap", "dailyCap", "counterpartyDailyCap", "approvalAbove"):
            if data.get(name):
                out[name] = data[name]
        for name in ("currencies", "providerAllow", "providerDeny"):
            if _words(data.get(name, "")):
                out[name] = _words(data[name]) if name == "currencies" else [w.lower() for w in _words(data[name])]
        if data.get("callsPerMinute"):
            out["callsPerMinute"] = data["callsPerMinute"]
        return out


class LimitsForm(MarketForm):
    sessionCap = MoneyField(label="Session cap limit", required=False, help_text="Empty: the default.")
    dailyCap = MoneyField(label="Daily cap limit", required=False, help_text="Empty: the default.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.validators.append(AMOUNT)

    def changes(self) -> dict[str, str | None]:
        return {name: self.cleaned_data.get(name) or None for name in ("sessionCap", "dailyCap")}
