"""The admin and /metrics limited to networks by setting, with the proxy's X-Forwarded-For believed
only from a trusted proxy; a refused request gets the plain 404 page, which says nothing."""

from __future__ import annotations

import pytest

ADMIN, METRICS = "/admin/login/", "/metrics"


@pytest.fixture
def limited(settings):
    settings.WEB3_ADMIN_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    settings.WEB3_METRICS_NETWORKS = ["192.168.7.0/24"]
    return settings


def get(client, path, remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.get(path, **extra)


def assert_refused(r, path):
    assert r.status_code == 404
    body = r.content.decode().lower()
    assert "network" not in body and "admin" not in body and "metrics" not in body, body[:300]
    assert r["X-Frame-Options"] == "DENY"  # the refusal is a page like any other


@pytest.mark.django_db
def test_only_the_listed_networks_reach_the_admin_and_metrics(client, limited):
    assert get(client, ADMIN, "10.1.2.3").status_code == 200
    assert get(client, ADMIN, "2001:db8::5").status_code == 200
    assert get(client, METRICS, "192.168.7.9").status_code == 200
    assert_refused(get(client, ADMIN, "127.0.0.1"), ADMIN)
    assert_refused(get(client, "/admin/", "192.168.7.9"), "/admin/")  # the metrics network is not the admin's
    assert_refused(get(client, METRICS, "10.1.2.3"), METRICS)
    # the rest of the market is not limited
    assert get(client, "/healthz", "203.0.113.9").status_code == 200
    assert get(client, "/api/v1/web3.capabilities.list", "203.0.113.9").status_code == 200


@pytest.mark.django_db
def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, limited):
    assert_refused(get(client, ADMIN, "127.0.0.1", forwarded="10.1.2.3"), ADMIN)


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_address_it_appended_counts_and_what_the_client_wrote_does_not(client, limited):
    limited.WEB3_TRUSTED_PROXIES = ["172.18.0.0/16"]
    # the proxy (172.18.0.2) appended the client's address 10.1.2.3
    assert get(client, ADMIN, "172.18.0.2", forwarded="10.1.2.3").status_code == 200
    # a client outside wrote 10.1.2.3 itself; the proxy appended its real address
    assert_refused(get(client, ADMIN, "172.18.0.2", forwarded="10.1.2.3, 198.51.100.4"), ADMIN)
    # two trusted proxies in a row are skipped
    assert get(client, ADMIN, "172.18.0.2", forwarded="10.1.2.3, 172.18.0.3").status_code == 200
    # garbage in the header is never an allowed address
    assert_refused(get(client, ADMIN, "172.18.0.2", forwarded="not-an-address"), ADMIN)
    # a direct request from outside the proxies still uses its own address
    assert_refused(get(client, ADMIN, "198.51.100.4", forwarded="10.1.2.3"), ADMIN)


@pytest.mark.django_db
def test_with_no_networks_set_nothing_is_limited(client):
    assert get(client, ADMIN, "203.0.113.9").status_code == 200
    assert get(client, METRICS, "203.0.113.9").status_code == 200
