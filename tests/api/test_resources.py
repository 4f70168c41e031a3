"""web3.resources.publish|update|unpublish|get|list through the gateway."""

import pytest

from market.hashing import object_hash
from market.models import Resource
from tests.resource_helpers import USDC, bal, fund, publish

ENDPOINT = "https://search.example.net/api"


@pytest.mark.keypath
def test_publish_returns_the_resource_without_its_secrets(alice):
    # given / when
    r = publish(
        alice, endpoint=ENDPOINT, accessToken="tok-123", tags=["Web", "news"], policy={"maxConcurrent": 2}
    ).result
    # then
    assert r["providerActorId"] == alice.actor_id
    assert r["status"] == "resource_published"
    assert r["pricing"] == {"unit": "query", "unitPrice": "0.010000", "currency": "USDC", "per": 1}
    assert r["tags"] == ["news", "web"]
    assert r["policy"]["maxConcurrent"] == 2 and r["policy"]["allowTools"] is False
    assert "endpoint" not in r and "accessToken" not in r
    assert "search.example.net" not in str(r) and "tok-123" not in str(r)
    fields = {k: r[k] for k in ("resourceId", "kind", "name", "description", "backend", "pricing", "policy", "tags")}
    fields["pricing"] = {k: v for k, v in r["pricing"].items() if k != "per"}  # as supplied: per is derived
    assert r["hash"] == object_hash(fields)
    stored = Resource.objects.get(resource_id=r["resourceId"])
    assert "search.example.net" not in stored.endpoint_sealed and "tok-123" not in stored.access_token_sealed


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "search", "unit": "token"}, "pricing.unit"),
        ({"kind": "model", "backend": "openai-compat", "unit": "query"}, "pricing.unit"),
        ({"price": "0.0000001"}, "pricing.unitPrice"),
        ({"endpoint": "ftp://files.example.net/x"}, "endpoint"),
        ({"endpoint": "https://user:pw@example.net/"}, "endpoint"),
        ({"endpoint": "http://!DM%9"}, "endpoint"),
        ({"endpoint": "https://p.example.net/a%zzb"}, "endpoint"),
        ({"endpoint": "https://p.example.net/?q=%"}, "endpoint"),
    ],
)
def test_publish_refuses_bad_input_and_creates_nothing(alice, params, field):
    # when
    res = publish(alice, endpoint=params.pop("endpoint", ENDPOINT), **params)
    # then
    assert res.status == 400 and res.code == "E_INVALID_ARGUMENT"
    assert field in res.body["error"]["details"]["fields"]
    assert Resource.objects.count() == 0


def test_price_as_json_number_is_refused(alice):
    res = alice.call(
        "web3.resources.publish",
        {
            "kind": "search",
            "name": "s",
            "backend": "searxng",
            "endpoint": ENDPOINT,
            "pricing": {"unit": "query", "unitPrice": 0.01, "currency": "USDC"},
        },
    )
    assert res.code == "E_INVALID_ARGUMENT"


def test_get_list_and_filters(alice, sign_in):
    # given
    bob = sign_in()
    s = publish(alice, endpoint=ENDPOINT, tags=["web"], price="0.010000").result
    m = publish(alice, endpoint=ENDPOINT, kind="model", backend="openai-compat", unit="token", price="2.000000").result
    gone = publish(alice, endpoint=ENDPOINT, tags=["web"]).result
    assert alice.call("web3.resources.unpublish", {"resourceId": gone["resourceId"]}).ok
    # when / then
    assert bob.call("web3.resources.get", {"resourceId": s["resourceId"]}).result["resourceId"] == s["resourceId"]
    assert bob.get("web3.resources.get", {"resourceId": s["resourceId"]}).result["hash"] == s["hash"]
    ids = lambda res: [i["resourceId"] for i in res.result["items"]]  # noqa: E731
    assert ids(bob.call("web3.resources.list", {})) == [m["resourceId"], s["resourceId"]]
    assert ids(bob.call("web3.resources.list", {"kind": "model"})) == [m["resourceId"]]
    assert ids(bob.call("web3.resources.list", {"tag": "web"})) == [s["resourceId"]]
    assert ids(bob.call("web3.resources.list", {"currency": "USDC", "maxUnitPrice": "0.5"})) == [s["resourceId"]]
    assert ids(bob.call("web3.resources.list", {"providerActorId": bob.actor_id})) == []
    assert ids(bob.call("web3.resources.list", {"status": "resource_unpublished"})) == [gone["resourceId"]]
    assert bob.call("web3.resources.get", {"resourceId": gone["resourceId"]}).result["status"] == "resource_unpublished"
    assert bob.call("web3.resources.get", {"resourceId": "res_missing"}).code == "E_NOT_FOUND"
    page = bob.call("web3.resources.list", {"limit": 1}).result
    assert len(page["items"]) == 1 and page["nextCursor"]
    rest = bob.call("web3.resources.list", {"limit": 1, "cursor": page["nextCursor"]}).result
    assert [i["resourceId"] for i in rest["items"]] == [s["resourceId"]]


def test_a_price_ceiling_without_a_currency_applies_to_every_resource(alice, sign_in):
    # given resources at 0.01, 0.02 and 2.00 USDC
    bob = sign_in()
    cheap = publish(alice, endpoint=ENDPOINT, price="0.010000").result
    middle = publish(alice, endpoint=ENDPOINT, price="0.020000").result
    publish(alice, endpoint=ENDPOINT, kind="model", backend="openai-compat", unit="token", price="2.000000")
    ids = lambda res: [i["resourceId"] for i in res.result["items"]]  # noqa: E731
    # when a ceiling is asked for without a currency (it was E_INVALID_ARGUMENT "needs currency")
    # then it is compared with each price, as with the currency, on POST and GET alike
    assert ids(bob.call("web3.resources.list", {"maxUnitPrice": "0.02"})) == [middle["resourceId"], cheap["resourceId"]]
    assert ids(bob.call("web3.resources.list", {"maxUnitPrice": "0.019999"})) == [cheap["resourceId"]]
    assert ids(bob.get("web3.resources.list", {"maxUnitPrice": "0.019999"})) == [cheap["resourceId"]]
    assert ids(bob.call("web3.resources.list", {"maxUnitPrice": "0"})) == []
    assert ids(bob.call("web3.resources.list", {"maxUnitPrice": "0.02", "currency": "USDC"})) == ids(
        bob.call("web3.resources.list", {"maxUnitPrice": "0.02"})
    )


def test_a_ceiling_without_a_currency_is_read_in_each_currencys_own_scale(db, settings):
    """Several currencies can only be configured per process (the params' enum is built at start),
    so this is checked at the edge's conversion and the selector, which web3.resources.list calls."""
    from market.money import parse_amount
    from market.selectors.resources import resource_list
    from market.services.resources import resource_publish
    from web3api.money import price_ceilings

    # given a market of USDC (scale 6) and CENT (scale 2), with one resource in each at 0.01
    settings.WEB3_CURRENCIES = "USDC:6,CENT:2"
    provider = "0x" + "b2" * 20

    def priced(price: str, currency: str) -> str:
        return resource_publish(
            provider_actor_id=provider,
            kind="search",
            name="s",
            backend="searxng",
            endpoint=ENDPOINT,
            pricing={"unit": "query", "unitPrice": parse_amount(price, currency), "currency": currency},
        ).resource_id

    usdc_cent, usdc_fine, cent = priced("0.01", "USDC"), priced("0.012", "USDC"), priced("0.01", "CENT")
    usdc_two, cent_two = priced("0.02", "USDC"), priced("0.02", "CENT")

    def listed(ceiling: str, **extra) -> set[str]:
        ceilings = price_ceilings(ceiling, extra.get("currency"), field="maxUnitPrice")
        return {r.resource_id for r in resource_list(actor_id=provider, filters={"maxUnitPrice": ceilings, **extra})}

    # then 0.015 matches the prices of both currencies at or below it, exactly: 0.012 USDC and 0.01 CENT
    # (no CENT price lies between 0.01 and 0.015), and neither 0.02
    assert listed("0.015") == {usdc_cent, usdc_fine, cent}
    assert listed("0.01") == {usdc_cent, cent}
    assert listed("0.019999") == {usdc_cent, usdc_fine, cent}
    assert listed("0.02") == {usdc_cent, usdc_fine, cent, usdc_two, cent_two}
    # and with a currency, only that currency's, in its scale
    assert listed("0.015", currency="USDC") == {usdc_cent, usdc_fine}
    assert listed("0.01", currency="CENT") == {cent}
    # and a ceiling past every amount of a scale matches all of it
    assert listed("9" * 16) == {usdc_cent, usdc_fine, cent, usdc_two, cent_two}


def test_update_by_provider_only_and_pricing_applies_to_new_leases(alice, sign_in):
    # given
    bob = sign_in()
    fund(bob.actor_id, 10)
    r = publish(alice, endpoint=ENDPOINT).result
    old_lease = bob.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 600}).result
    # when
    denied = bob.call("web3.resources.update", {"resourceId": r["resourceId"], "description": "mine"})
    updated = alice.call(
        "web3.resources.update",
        {
            "resourceId": r["resourceId"],
            "description": "better",
            "tags": ["fast"],
            "accessToken": "rotated-token",
            "endpoint": "https://other.example.net/x",
            "pricing": {"unit": "call", "unitPrice": "0.5", "currency": "USDC"},
            "policy": {"maxConcurrent": 9},
        },
    ).result
    new_lease = bob.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 600}).result
    # then
    assert denied.status == 403 and denied.code == "E_FORBIDDEN"
    assert updated["description"] == "better" and updated["tags"] == ["fast"]
    assert updated["pricing"]["unitPrice"] == "0.500000" and updated["policy"]["maxConcurrent"] == 9
    assert updated["hash"] != r["hash"] and "other.example.net" not in str(updated)
    assert bob.call("web3.leases.get", {"leaseId": old_lease["leaseId"]}).result["pricing"]["unitPrice"] == "0.010000"
    assert new_lease["pricing"] == {"unit": "call", "unitPrice": "0.500000", "currency": "USDC", "per": 1}


def test_unpublish_stops_new_leases_but_running_leases_continue(alice, sign_in):
    # given
    bob = sign_in()
    fund(bob.actor_id, 10)
    r = publish(alice, endpoint=ENDPOINT).result
    lease = bob.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 600}).result
    # when
    out = alice.call("web3.resources.unpublish", {"resourceId": r["resourceId"]}).result
    again = alice.call("web3.resources.unpublish", {"resourceId": r["resourceId"]})
    refused = bob.call("web3.leases.issue", {"resourceId": r["resourceId"], "maxCost": "1", "ttlSec": 600})
    # then
    assert out["status"] == "resource_unpublished"
    assert again.status == 409 and again.code == "E_CONFLICT"
    assert (refused.status, refused.code) == (409, "E_CONFLICT")
    assert bob.call("web3.leases.get", {"leaseId": lease["leaseId"]}).result["status"] == "lease_active"
    assert bal(bob.actor_id) == (9 * USDC, 1 * USDC)
