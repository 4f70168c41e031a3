"""Production settings: `check --deploy` is clean with DEBUG off and the SECURE_* settings given by
the environment (and not without them); JSON log lines carry the request's correlation id."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from openclaw.logs import CorrelationFilter, JsonFormatter

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "WEB3_SECRETS_KEY": Fernet.generate_key().decode(),
    "WEB3_CHECKPOINT_KEY": "0x" + secrets.token_hex(32),
    "ALLOWED_HOSTS": "market.example.com",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
}


def manage(tmp_path, extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEB3_", "SECURE_", "DJANGO_"))}
    env.pop("SECRET_KEY", None)
    env.update({"WEB3_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "openclaw.settings", **extra})
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    r = manage(tmp_path, PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "System check identified no issues" in r.stdout
    assert "WARNINGS" not in r.stderr + r.stdout


def test_check_deploy_names_what_is_missing_without_it(tmp_path):
    r = manage(tmp_path, {"SECRET_KEY": PRODUCTION["SECRET_KEY"]}, "check", "--deploy", "--fail-level", "WARNING")
    assert r.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in r.stderr, r.stderr


def test_json_log_lines_by_setting(tmp_path):
    code = "import logging; logging.getLogger('market.example').warning('sealed %s events', 3)"
    r = manage(tmp_path, {**PRODUCTION, "WEB3_LOG_FORMAT": "json"}, "shell", "-c", code)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    assert lines and lines[-1]["message"] == "sealed 3 events", r.stderr
    assert lines[-1]["level"] == "WARNING" and lines[-1]["logger"] == "market.example"
    assert lines[-1]["correlationId"] == ""  # no request, no task


@pytest.fixture
def json_log_lines():
    """JSON lines of every record logged while the test runs, as the json formatter writes them."""
    records: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(json.loads(self.format(record)))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield records
    root.removeHandler(handler)


@pytest.mark.django_db
def test_an_internal_error_and_its_log_line_share_the_requests_correlation_id(alice, json_log_lines):
    # when: a method fails unexpectedly
    r = alice.call("web3.test.increment", {"name": "c", "by": 1, "fail": "crash"})
    # then: the client's correlation id is the response header's and the log line's
    assert r.code == "E_INTERNAL"
    correlation_id = r.body["error"]["details"]["correlationId"]
    assert r.headers["X-Correlation-ID"] == correlation_id
    line = next(x for x in json_log_lines if x["message"].startswith("unhandled error"))
    assert line["correlationId"] == correlation_id and line["level"] == "ERROR"
    assert line["exception"] == "RuntimeError"


@pytest.mark.django_db
def test_the_proxys_request_id_becomes_the_correlation_id(client):
    r = client.get("/healthz", HTTP_X_REQUEST_ID="0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    assert r["X-Correlation-ID"] == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")["X-Correlation-ID"]
    assert len(forged) == 32 and forged.isalnum()
