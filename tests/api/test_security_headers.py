"""Security headers on every kind of page, HSTS only over TLS (directly or as the proxy says), and
the cookies' flags by setting."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.console.support import console_sign_in

PAGES = {
    "api json": "/api/v1/web3.capabilities.list",
    "console page": "/",
    "console 404": "/console/no-such-page/",
    "admin login": "/admin/login/",
    "metrics": "/metrics",
    "healthz": "/healthz",
    "schema": "/api/schema/",
    "static file": "/static/console/wallet.js",
}


def assert_security_headers(r, kind: str) -> None:
    assert r["X-Content-Type-Options"] == "nosniff", kind
    assert r["Referrer-Policy"] == "same-origin", kind
    assert r["X-Frame-Options"] == "DENY", kind
    assert r["Cross-Origin-Opener-Policy"] == "same-origin", kind
    csp = r["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, kind
    assert r["X-Correlation-ID"], kind


@pytest.fixture
def static_client(settings):
    """A client whose WhiteNoise serves the static files from their sources (no collectstatic)."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    return Client()


@pytest.mark.django_db
def test_every_page_kind_carries_the_security_headers_and_no_hsts_over_plain_http(static_client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    statuses = {}
    for kind, path in PAGES.items():
        r = static_client.get(path)
        statuses[kind] = r.status_code
        assert_security_headers(r, kind)
        assert "Strict-Transport-Security" not in r, kind  # browsers ignore HSTS over HTTP; not sent
    assert statuses == {
        "api json": 200,
        "console page": 200,
        "console 404": 404,
        "admin login": 200,
        "metrics": 200,
        "healthz": 200,
        "schema": 200,
        "static file": 200,
    }


@pytest.mark.django_db
def test_the_console_403_page_carries_them_too(client):
    console_sign_in(client)
    r = client.get("/console/overview/")
    assert r.status_code == 403
    assert_security_headers(r, "console 403")


@pytest.mark.django_db
def test_hsts_is_sent_over_tls_and_when_the_trusted_proxy_says_https(static_client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    hsts = "max-age=31536000; includeSubDomains"
    for kind, path in PAGES.items():
        assert static_client.get(path, secure=True)["Strict-Transport-Security"] == hsts, kind
    # behind the proxy: its X-Forwarded-Proto counts only when SECURE_PROXY_SSL_HEADER says so
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https"}
    assert "Strict-Transport-Security" not in static_client.get("/healthz", **forwarded)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert static_client.get("/healthz", **forwarded)["Strict-Transport-Security"] == hsts
    assert "Strict-Transport-Security" not in static_client.get("/healthz")


@pytest.mark.django_db
def test_session_and_csrf_cookies_carry_their_flags_by_setting(client, settings):
    # given: the production flags
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    get_user_model().objects.create_user("staff", password="s3cret-staff-pass", is_staff=True)
    # when: the sign-in form is shown (CSRF cookie) and a staff member signs in (session cookie)
    client.get("/admin/login/")
    csrf = client.cookies["csrftoken"]
    r = client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff", "password": "s3cret-staff-pass", "csrfmiddlewaretoken": csrf.value},
    )
    assert r.status_code == 302
    session = client.cookies["sessionid"]
    # then
    for cookie in (csrf, session):
        assert cookie["secure"] is True and cookie["httponly"] is True and cookie["samesite"] == "Lax", cookie
    # and without them (a local run over plain HTTP) the cookies are not Secure
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    other = Client()
    other.get("/admin/login/")
    assert other.cookies["csrftoken"]["secure"] == "" and other.cookies["csrftoken"]["httponly"] is True


@pytest.mark.django_db
def test_plain_http_is_redirected_except_the_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    r = client.get("/console/signin/")
    assert r.status_code == 301 and r["Location"] == "https://testserver/console/signin/"
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/console/signin/", secure=True).status_code == 200
