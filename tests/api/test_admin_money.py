"""The Django admin shows money as amounts of their currency on every page of the market's tables
(lists and details), never as minor units."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from web3api.demo import load_demo

MONEY_FIELDS = {
    "account": ["debits_posted", "credits_posted", "debits_pending", "credits_pending"],
    "transfer": ["amount"],
    "settlement": ["locked", "released", "refunded"],
    "resource": ["unit_price"],
    "lease": ["unit_price", "max_cost", "spent"],
    "invocation": ["reserved", "cost"],
    "usageentry": ["amount"],
    "taskorder": ["budget"],
    "taskbid": ["price", "task_budget"],
    "taskreceipt": ["amount"],
}


def _minor_values(model, fields) -> set[int]:
    values = set()
    for row in model.objects.values_list(*fields):
        values |= {v for v in row if isinstance(v, int) and v >= 1000}
    return values


@pytest.mark.django_db
def test_no_admin_page_of_the_market_shows_minor_units(client):
    # given the demo market and a superuser
    load_demo(lambda line: None)
    client.force_login(get_user_model().objects.create_superuser(username="root", email="", password="x"))
    checked = 0
    for model, _ in admin.site._registry.items():
        name = model._meta.model_name
        if model._meta.app_label != "market" or name not in MONEY_FIELDS:
            continue
        minors = _minor_values(model, MONEY_FIELDS[name])
        pages = [f"/admin/market/{name}/"]
        first = model.objects.order_by("pk").first()
        if first is not None:
            pages.append(f"/admin/market/{name}/{first.pk}/change/")
        for path in pages:
            # when the list and a detail page are opened
            body = client.get(path).content.decode()
            shown = {int(n) for n in re.findall(r"(?<![\d.,])(\d{4,})(?![\d.])", body)}
            # then none of the table's minor-unit amounts appears as a bare number
            assert not (shown & minors), (path, sorted(shown & minors)[:5])
            checked += 1
    assert checked >= 15
