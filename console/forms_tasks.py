"""Forms of the task pages, named as the API's params where a refusal names them."""

from __future__ import annotations

import hashlib

from django import forms

from console.forms import MarketForm, MoneyField
from market.models import TaskOrder
from market.money import currencies

TTL_CHOICES = [(3600, "1 hour"), (86400, "1 day"), (3 * 86400, "3 days"), (7 * 86400, "7 days")]
ETA_CHOICES = [(600, "10 minutes"), (3600, "1 hour"), (86400, "1 day"), (3 * 86400, "3 days")]
REVIEW_CHOICES = [("", "The market's default"), (600, "10 minutes"), (3600, "1 hour"), (86400, "1 day")]


class TaskFilterForm(MarketForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *TaskOrder.Status.choices])
    currency = forms.ChoiceField(required=False, choices=[])
    mine = forms.BooleanField(label="Only tasks I created", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", "Any currency"), *((c, c) for c in currencies())]

    def filters(self, actor_id: str) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "mine" and v}
        if self.cleaned_data.get("mine"):
            data["creatorActorId"] = actor_id
        return data


class PublishTaskForm(MarketForm):
    api_names = {"ttlSec": "ttl_sec", "reviewWindowSec": "review_window_sec"}

    title = forms.CharField(max_length=200)
    requirements = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 5}))
    budget = MoneyField(help_text="Locked from your balance when you award a bid, not before.")
    currency = forms.ChoiceField(choices=[])
    ttl_sec = forms.TypedChoiceField(label="Open for", coerce=int, choices=TTL_CHOICES, initial=86400)
    review_window_sec = forms.TypedChoiceField(
        label="Review window", coerce=int, empty_value=None, required=False, choices=REVIEW_CHOICES
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies()]


class BidForm(MarketForm):
    api_names = {"etaSec": "eta_sec"}

    price = MoneyField(label="Your price", help_text="At most the task's budget.")
    eta_sec = forms.TypedChoiceField(label="Delivered within", coerce=int, choices=ETA_CHOICES, initial=3600)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class SubmitResultForm(MarketForm):
    summary = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))
    artifact_name = forms.CharField(label="Artifact name", max_length=200, required=False)
    artifact_text = forms.CharField(
        label="Artifact content",
        required=False,
        max_length=200000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Its sha256 is recorded with the result.",
    )
    artifact_uri = forms.URLField(label="Artifact URI", required=False, max_length=2000, assume_scheme="https")

    def artifacts(self) -> list[dict]:
        d = self.cleaned_data
        if not (d.get("artifact_name") or d.get("artifact_text")):
            return []
        artifact = {
            "name": d.get("artifact_name") or "result.txt",
            "sha256": hashlib.sha256((d.get("artifact_text") or "").encode()).hexdigest(),
        }
        if d.get("artifact_uri"):
            artifact["uri"] = d["artifact_uri"]
        return [artifact]


class ReviewForm(MarketForm):
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DisputeOpenForm(MarketForm):
    reason = forms.CharField(
        label="Why you dispute the outcome", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
