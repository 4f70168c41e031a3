"""Forms of the resource pages: discover filters (the API's list params), onboarding (publish),
leasing. Endpoint and access token are write-only: their widgets never render a value."""

from __future__ import annotations

from django import forms

from console.forms import MarketForm, MoneyField
from market.errors import MarketError
from market.models import Resource
from market.models.resources import UNITS_BY_KIND
from market.money import currencies, parse_amount


def _currency_choices(blank: str | None = None):
    choices = [(c, c) for c in currencies()]
    return [("", blank), *choices] if blank is not None else choices


class WriteOnlyInput(forms.TextInput):
    """Renders empty whatever it holds: a refused form comes back without the secret."""

    def format_value(self, value):
        return None


class WriteOnlyPassword(forms.PasswordInput):
    def __init__(self, attrs=None):
        super().__init__(attrs, render_value=False)


class DiscoverForm(MarketForm):
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Resource.Kind.choices])
    currency = forms.ChoiceField(required=False, choices=[])
    maxUnitPrice = MoneyField(label="Max unit price", required=False)  # noqa: N815 - the API's param name
    tag = forms.CharField(required=False, max_length=64)
    mine = forms.BooleanField(label="Only my resources", required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "Published"), (Resource.Status.UNPUBLISHED, "Unpublished")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = _currency_choices("Any currency")

    def filters(self, actor_id: str) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "mine" and v not in (None, "")}
        if self.cleaned_data.get("mine"):
            data["providerActorId"] = actor_id
        elif data.get("status") == Resource.Status.UNPUBLISHED:
            data["providerActorId"] = actor_id  # only one's own unpublished resources are listed here
        return data


UNIT_CHOICES = [("token", "per 1M tokens"), ("call", "per call"), ("query", "per query"), ("byte", "per 1M bytes")]


class OnboardForm(MarketForm):
    """One form for publishing: what it is, where it lives (write-only), its price and policy."""

    api_names = {
        "pricing.unit": "unit",
        "pricing.unitPrice": "unit_price",
        "pricing.currency": "currency",
        "accessToken": "access_token",
    }

    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(choices=Resource.Kind.choices)
    backend = forms.ChoiceField(choices=Resource.Backend.choices)
    endpoint = forms.CharField(
        max_length=2000,
        widget=WriteOnlyInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="The provider's URL. Stored encrypted; never shown again, not even to you.",
    )
    access_token = forms.CharField(
        label="Access token",
        required=False,
        max_length=4000,
        widget=WriteOnlyPassword(attrs={"autocomplete": "off"}),
        help_text="Sent by the market as a bearer token to your endpoint. Write-only.",
    )
    unit = forms.ChoiceField(
        choices=UNIT_CHOICES, help_text="model: token or call; search: query or call; storage: byte or call."
    )
    unit_price = MoneyField(label="Price", help_text="Per unit as chosen above; zero is allowed.")
    currency = forms.ChoiceField(choices=[])
    max_concurrent = forms.IntegerField(
        label="Max concurrent calls per lease", required=False, min_value=1, max_value=1000
    )
    max_tokens = forms.IntegerField(label="Max tokens per call", required=False, min_value=1, max_value=10_000_000)
    allow_tools = forms.BooleanField(label="Allow tools in chat calls", required=False)
    max_bytes = forms.IntegerField(label="Max bytes per call", required=False, min_value=1, max_value=1024 * 1024)
    allow_mime = forms.CharField(
        label="Allowed content types",
        required=False,
        max_length=2000,
        help_text="Comma-separated, e.g. text/plain, image/*",
    )
    tags = forms.CharField(required=False, max_length=1000, help_text="Comma-separated.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = _currency_choices()

    def clean(self):
        data = super().clean()
        kind, unit = data.get("kind"), data.get("unit")
        if kind and unit and unit not in UNITS_BY_KIND[kind]:
            self.add_error("unit", f"a {kind} resource is priced per {' or '.join(UNITS_BY_KIND[kind])}")
        if data.get("currency") and data.get("unit_price"):
            try:
                data["unit_price_minor"] = parse_amount(
                    data["unit_price"], data["currency"], field="unit_price", allow_zero=True
                )
            except MarketError as exc:
                self.add_error("unit_price", exc.details.get("fields", {}).get("unit_price", exc.message))
        return data

    def publish_kwargs(self) -> dict:
        d = self.cleaned_data
        policy = {
            key: d[name]
            for key, name in (
                ("maxConcurrent", "max_concurrent"),
                ("maxTokens", "max_tokens"),
                ("maxBytes", "max_bytes"),
            )
            if d.get(name) is not None
        }
        policy["allowTools"] = bool(d.get("allow_tools"))
        policy["allowMime"] = [m.strip() for m in (d.get("allow_mime") or "").split(",") if m.strip()]
        return {
            "kind": d["kind"],
            "name": d["name"],
            "backend": d["backend"],
            "endpoint": d["endpoint"],
            "access_token": d.get("access_token") or "",
            "description": d.get("description") or "",
            "pricing": {"unit": d["unit"], "unitPrice": d["unit_price_minor"], "currency": d["currency"]},
            "policy": policy,
            "tags": [t for t in (d.get("tags") or "").split(",") if t.strip()],
        }


class TestCallForm(forms.Form):
    """The part of the onboarding form a Test call needs."""

    backend = forms.ChoiceField(choices=Resource.Backend.choices)
    endpoint = forms.CharField(max_length=2000)
    access_token = forms.CharField(required=False, max_length=4000)


class LeaseForm(MarketForm):
    api_names = {"maxCost": "max_cost", "ttlSec": "ttl_sec"}

    max_cost = MoneyField(label="Budget", help_text="Locked from your balance now; what is not spent comes back.")
    ttl_sec = forms.TypedChoiceField(
        label="Time to live",
        coerce=int,
        choices=[(600, "10 minutes"), (3600, "1 hour"), (86400, "1 day"), (7 * 86400, "7 days")],
        initial=3600,
    )
