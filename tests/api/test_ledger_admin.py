"""/admin/ for the money tables: read-only, searchable by actor (DESIGN.md: they change only through
the services)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from market.models import Account, AuditEvent, Settlement, Transfer
from market.services import escrow, ledger

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20
MODELS = [Transfer, Settlement, AuditEvent, Account]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:market_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_superuser("auditor", "", "pw-not-used-here")
    client.force_login(user)
    return client


@pytest.fixture
def money(db):
    ledger.deposit(actor_id=A, amount=5_000_000, currency="USDC")
    ledger.deposit(actor_id=C, amount=1_000_000, currency="USDC")
    s = escrow.escrow_lock(
        payer_actor_id=A,
        payee_actor_id=B,
        amount=2_000_000,
        currency="USDC",
        by_actor_id=A,
        reference="lease:lease_abc",
    )
    escrow.escrow_release(settlement_id=s.settlement_id, amount=500_000, by_actor_id="system")
    escrow.escrow_lock(payer_actor_id=C, payee_actor_id=A, amount=1_000, currency="USDC", by_actor_id=C)
    return s


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_renders_and_searches_by_actor(staff_client, money, model):
    # when the list page is opened, then searched for B (a payee only) and for C
    whole = staff_client.get(url(model, "changelist"))
    by_b = staff_client.get(url(model, "changelist"), {"q": B})
    by_c = staff_client.get(url(model, "changelist"), {"q": C})

    # then each renders, and the search narrows to rows of that actor
    assert whole.status_code == by_b.status_code == by_c.status_code == 200
    all_rows = whole.context["cl"].result_count
    b_rows, c_rows = by_b.context["cl"].result_count, by_c.context["cl"].result_count
    assert 0 < b_rows < all_rows
    assert 0 < c_rows < all_rows
    for obj in by_b.context["cl"].result_list:
        assert B in {
            Transfer: lambda t: (t.debit_account.actor_id, t.credit_account.actor_id),
            Settlement: lambda s: (s.payer_actor_id, s.payee_actor_id),
            AuditEvent: lambda e: {e.actor_id, *e.parties.values_list("actor_id", flat=True)},
            Account: lambda a: (a.actor_id,),
        }[model](obj)


def test_settlements_and_transfers_are_searchable_by_reference(staff_client, money):
    for model in (Settlement, Transfer):
        r = staff_client.get(url(model, "changelist"), {"q": "lease:lease_abc"})
        assert r.status_code == 200
        assert r.context["cl"].result_count == (1 if model is Settlement else 2)  # the lock and the release


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_no_add_change_or_delete(staff_client, money, model):
    obj = model.objects.order_by("pk").first()
    # no add page, and no add link on the list
    assert staff_client.get(url(model, "add")).status_code == 403
    assert url(model, "add") not in staff_client.get(url(model, "changelist")).content.decode()
    # the detail page is a read-only view: no form to save
    detail = staff_client.get(url(model, "change", obj.pk))
    assert detail.status_code == 200
    assert detail.context["has_change_permission"] is False
    assert b'name="_save"' not in detail.content
    # posting a change or a delete is refused and changes nothing
    before = list(model.objects.order_by("pk").values())
    assert staff_client.post(url(model, "change", obj.pk), {}).status_code == 403
    assert staff_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert list(model.objects.order_by("pk").values()) == before
    # and no bulk delete action is offered
    actions = staff_client.get(url(model, "changelist")).context["cl"].model_admin.get_actions(detail.wsgi_request)
    assert "delete_selected" not in actions


def test_money_shows_as_amounts_with_their_currency_in_lists_and_details(staff_client, money):
    # given the settlement that locked 2 USDC and released 0.5 of it (USDC has scale 6)
    settlement = Settlement.objects.get(settlement_id=money.settlement_id)
    account = Account.objects.get(actor_id=A, currency="USDC")

    # when the settlements' list and that settlement's and the payer account's detail pages are opened
    listed = staff_client.get(url(Settlement, "changelist")).content.decode()
    detail = staff_client.get(url(Settlement, "change", settlement.pk)).content.decode()
    payer = staff_client.get(url(Account, "change", account.pk)).content.decode()
    transfers = staff_client.get(url(Transfer, "changelist")).content.decode()

    # then every amount is written with its currency at its scale, never as minor units
    for page in (listed, detail):
        assert "2.000000 USDC" in page and "0.500000 USDC" in page and "0.000000 USDC" in page
        assert "2000000" not in page and "500000<" not in page
    assert "5.000000 USDC" in payer and "1.500000 USDC" in payer and "5000000" not in payer
    assert "0.001000 USDC" in transfers and ">1000<" not in transfers
