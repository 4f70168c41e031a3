"""Plain pages: /healthz, /metrics, /admin/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
PROJECT_APPS = ("market", "web3api")


def sample(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


# --- /healthz --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    # when the liveness page is fetched
    with django_assert_num_queries(0):
        r = client.get("/healthz")

    # then it answers ok, with no query at all (so no write)
    assert r.status_code == 200
    assert r.json() == {"ok": True}


def test_healthz_needs_no_database_at_all(client):
    # without the db fixture any database access raises: the page still answers
    assert client.get("/healthz").status_code == 200


# --- /metrics ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_count_calls_by_method_and_code(client, anon):
    # given the current counts
    labels_ok = {"method": "web3.capabilities.list", "code": "OK"}
    labels_404 = {"method": "unknown", "code": "E_NOT_FOUND"}
    labels_bad = {"method": "web3.capabilities.describe", "code": "E_INVALID_ARGUMENT"}
    before = client.get("/metrics").content.decode()

    # when calls succeed and fail
    anon.call("web3.capabilities.list")
    anon.call("web3.capabilities.list")
    anon.call("web3.nothing.here")
    anon.call("web3.capabilities.describe", {})

    # then /metrics exposes web3_requests_total and the latency histogram per method
    r = client.get("/metrics")
    after = r.content.decode()
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    assert "# TYPE web3_requests_total counter" in after
    assert sample(after, "web3_requests_total", labels_ok) - sample(before, "web3_requests_total", labels_ok) == 2
    assert sample(after, "web3_requests_total", labels_404) - sample(before, "web3_requests_total", labels_404) == 1
    assert sample(after, "web3_requests_total", labels_bad) - sample(before, "web3_requests_total", labels_bad) == 1
    latency = {"method": "web3.capabilities.list"}
    assert (
        sample(after, "web3_request_seconds_count", latency) - sample(before, "web3_request_seconds_count", latency)
        == 2
    )


def test_metrics_merge_samples_of_several_processes(tmp_path):
    # given two worker processes in prometheus_client's multiprocess mode (as under gunicorn)
    code = (
        "from web3api.metrics import REQUESTS, LATENCY\n"
        "REQUESTS.labels('web3.capabilities.list', 'OK').inc(3)\n"
        "LATENCY.labels('web3.capabilities.list').observe(0.01)\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, timeout=60)

    # when the samples are collected the way /metrics does
    from prometheus_client import generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
    text = generate_latest(registry).decode()

    # then the counts are the sum over the processes
    assert sample(text, "web3_requests_total", {"method": "web3.capabilities.list", "code": "OK"}) == 6
    assert sample(text, "web3_request_seconds_count", {"method": "web3.capabilities.list"}) == 2


# --- /admin/ ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_login_page_renders(client):
    assert client.get("/admin/").status_code == 302
    r = client.get("/admin/login/")
    assert r.status_code == 200
    assert b'name="username"' in r.content and b'name="password"' in r.content


def test_every_project_model_is_registered_in_admin():
    # given every model of the market and web3api apps
    models = [m for label in PROJECT_APPS for m in apps.get_app_config(label).get_models()]
    assert models

    # then each has an admin page
    missing = [f"{m._meta.app_label}.{m.__name__}" for m in models if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.django_db
def test_every_admin_changelist_renders_for_a_superuser(client, alice):
    # given a superuser and some rows (alice's token, nonce)
    user = get_user_model().objects.create_superuser("root", "", "pw-not-used-here")
    client.force_login(user)

    # when every registered project model's list page is opened
    statuses = {}
    for model in admin.site._registry:
        if model._meta.app_label not in PROJECT_APPS:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        r = client.get(url)
        statuses[url] = r.status_code
        # and no token material is shown
        assert alice.token.encode() not in r.content

    # then each renders
    assert statuses and set(statuses.values()) == {200}
