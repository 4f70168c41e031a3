"""Operator commands: init_keys, actor_role, run_sweeps, demo."""

from __future__ import annotations

import io
import json
import stat
from datetime import timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from web3api.models import ActorRole, ConsoleActor, SiweNonce

KEY_ENV = ("SECRET_KEY", "WEB3_SECRETS_KEY", "WEB3_CHECKPOINT_KEY")


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


# --- init_keys ---------------------------------------------------------------------------------------


@pytest.fixture
def fresh_var(tmp_path, settings, monkeypatch):
    """An empty var/ and no keys in the environment."""
    for name in KEY_ENV:
        monkeypatch.delenv(name, raising=False)
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_init_keys_creates_the_missing_keys(fresh_var):
    # when init_keys runs on an empty var/
    out = run("init_keys")

    # then it creates the three keys, readable by the owner only, and names (never prints) them
    keys = fresh_var / "keys"
    assert out.strip() == "created: SECRET_KEY, WEB3_SECRETS_KEY, WEB3_CHECKPOINT_KEY"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for name in ("secret_key", "secrets_key", "checkpoint_key"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
        assert (keys / name).read_text().strip() not in out
    Fernet((keys / "secrets_key").read_text().strip())  # a valid Fernet key
    checkpoint = (keys / "checkpoint_key").read_text().strip()
    assert checkpoint.startswith("0x") and len(checkpoint) == 66 and int(checkpoint, 16) > 0
    assert len((keys / "secret_key").read_text().strip()) >= 50


@pytest.mark.keypath
def test_init_keys_never_overwrites(fresh_var):
    # given keys that exist already, one of them set by hand
    run("init_keys")
    keys = fresh_var / "keys"
    (keys / "secret_key").write_text("operator-chosen\n")
    before = {p.name: p.read_text() for p in keys.iterdir()}

    # when init_keys runs again
    out = run("init_keys")

    # then nothing changed
    assert out.strip() == "all keys present"
    assert {p.name: p.read_text() for p in keys.iterdir()} == before


def test_init_keys_fills_only_the_gaps(fresh_var):
    keys = fresh_var / "keys"
    keys.mkdir()
    (keys / "checkpoint_key").write_text("0x" + "11" * 32 + "\n")
    out = run("init_keys")
    assert out.strip() == "created: SECRET_KEY, WEB3_SECRETS_KEY"
    assert (keys / "checkpoint_key").read_text() == "0x" + "11" * 32 + "\n"


def test_init_keys_skips_keys_set_in_the_environment(fresh_var, monkeypatch):
    monkeypatch.setenv("WEB3_SECRETS_KEY", Fernet.generate_key().decode())
    out = run("init_keys")
    assert out.strip() == "created: SECRET_KEY, WEB3_CHECKPOINT_KEY"
    assert not (fresh_var / "keys" / "secrets_key").exists()


def test_read_key_prefers_the_environment(fresh_var, monkeypatch):
    from openclaw.keys import read_key

    run("init_keys")
    assert read_key("SECRET_KEY", fresh_var) == (fresh_var / "keys" / "secret_key").read_text().strip()
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert read_key("SECRET_KEY", fresh_var) == "from-env"


# --- actor_role ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_actor_role_add_and_remove(sign_in):
    # given a signed-in actor without roles
    api = sign_in()
    assert api.call("web3.identity.whoami").result["roles"] == []

    # when the operator grants staff and arbitrator
    out1 = run("actor_role", api.actor_id, "--add", "staff")
    out2 = run("actor_role", api.actor_id.upper().replace("0X", "0x"), "--add", "arbitrator")
    again = run("actor_role", api.actor_id, "--add", "staff")

    # then the roles apply to the live token at once
    assert out1.strip() == f"{api.actor_id}: staff granted"
    assert out2.strip() == f"{api.actor_id}: arbitrator granted"
    assert again.strip() == f"{api.actor_id}: staff already held"
    assert api.call("web3.identity.whoami").result["roles"] == ["arbitrator", "staff"]

    # when staff is removed (twice)
    removed = run("actor_role", api.actor_id, "--remove", "staff")
    not_held = run("actor_role", api.actor_id, "--remove", "staff")

    # then only arbitrator is left
    assert removed.strip() == f"{api.actor_id}: staff removed"
    assert not_held.strip() == f"{api.actor_id}: staff was not held"
    assert api.call("web3.identity.whoami").result["roles"] == ["arbitrator"]
    assert list(ActorRole.objects.values_list("role", flat=True)) == ["arbitrator"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("0x1234", "--add", "staff"),
        ("0x" + "ab" * 20, "--add", "king"),
        ("0x" + "ab" * 20,),
        ("0x" + "ab" * 20, "--add", "staff", "--remove", "staff"),
    ],
)
def test_actor_role_refuses_bad_input(args):
    with pytest.raises(CommandError):
        run("actor_role", *args)
    assert not ActorRole.objects.exists()


# --- run_sweeps ---------------------------------------------------------------------------------------


def broken_job():
    raise RuntimeError("internal detail /srv/private must not be printed")


@pytest.mark.django_db
def test_run_sweeps_runs_every_periodic_job(settings, anon):
    # given an expired SIWE nonce (issued over a day ago)
    anon.call("web3.siwe.challenge", {"address": "0x" + "ab" * 20})

    # when run_sweeps runs later
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        out = run("run_sweeps")

    # then every job reports ok, and the purge did its work
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == list(settings.WEB3_PERIODIC_JOBS)
    assert all(": ok " in line for line in lines)
    assert 'identity.purge_expired: ok {"nonces": 1, "tokens": 0}' in lines
    assert not SiweNonce.objects.exists()


@pytest.mark.django_db
def test_run_sweeps_is_safe_to_run_twice(settings):
    first = run("run_sweeps")
    second = run("run_sweeps")
    assert first.count(": ok ") == second.count(": ok ") == len(settings.WEB3_PERIODIC_JOBS)


@pytest.mark.django_db
def test_run_sweeps_reports_a_failing_job_and_runs_the_rest(settings):
    # given a job that fails, listed first
    settings.WEB3_PERIODIC_JOBS = {"broken": "tests.api.test_commands.broken_job", **settings.WEB3_PERIODIC_JOBS}
    out = io.StringIO()

    # when run_sweeps runs
    with pytest.raises(CommandError):
        call_command("run_sweeps", stdout=out)

    # then the failure is reported without its internals and the other jobs still ran
    text = out.getvalue()
    assert "broken: FAILED" in text
    assert "/srv/private" not in text
    assert text.count(": ok ") == len(settings.WEB3_PERIODIC_JOBS) - 1


@pytest.mark.django_db
def test_periodic_task_runs_through_celery(settings):
    from openclaw.periodic import run_periodic_job_task

    # CELERY_TASK_ALWAYS_EAGER in the test settings: the task runs in-process
    run_periodic_job_task.delay("gateway.purge_idempotency")
    assert "openclaw.periodic.run_periodic_job_task" in run_periodic_job_task.app.tasks
    assert all(e["task"] == "openclaw.periodic.run_periodic_job_task" for e in settings.CELERY_BEAT_SCHEDULE.values())
    assert {e["args"][0] for e in settings.CELERY_BEAT_SCHEDULE.values()} == set(settings.WEB3_PERIODIC_JOBS)


# --- demo -------------------------------------------------------------------------------------------------


def row_counts() -> dict[str, int]:
    return {
        f"{m._meta.app_label}.{m.__name__}": m.objects.count()
        for label in ("market", "web3api", "auth")
        for m in apps.get_app_config(label).get_models()
    }


@pytest.mark.django_db
def test_demo_is_idempotent(tmp_path, settings):
    # given an empty market
    settings.VAR_DIR = tmp_path

    # when demo runs twice
    first = run("demo")
    counts = row_counts()
    wallets_file = tmp_path / "demo" / "wallets.json"
    wallets = wallets_file.read_text()
    second = run("demo")

    # then the second run changed nothing
    assert row_counts() == counts
    assert wallets_file.read_text() == wallets
    assert "console user 'operator' created" in first
    assert "console user 'operator' exists" in second
    # and the operator's password is in its file, never in the output
    password = (tmp_path / "demo" / "operator_password").read_text().strip()
    assert password and password not in first + second
    assert first.strip().endswith("demo ready") and second.strip().endswith("demo ready")


@pytest.mark.django_db
def test_demo_creates_actors_roles_and_a_linked_staff_user(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    out = run("demo")

    wallets = json.loads((tmp_path / "demo" / "wallets.json").read_text())
    assert set(wallets) == {"operator", "provider", "consumer", "creator", "bidder", "arbitrator"}
    assert stat.S_IMODE((tmp_path / "demo" / "wallets.json").stat().st_mode) == 0o600
    for wallet in wallets.values():
        assert wallet["key"] not in out  # private keys are never printed
    user = get_user_model().objects.get(username="operator")
    assert user.is_staff and user.is_superuser
    assert ConsoleActor.objects.get(user=user).actor_id == wallets["operator"]["address"]
    assert ActorRole.objects.filter(actor_id=wallets["operator"]["address"], role="staff").exists()
    assert ActorRole.objects.filter(actor_id=wallets["arbitrator"]["address"], role="arbitrator").exists()
    assert str(tmp_path) not in out  # no real file paths in command output


@pytest.mark.django_db
def test_demo_wallet_can_sign_in(tmp_path, settings, client):
    from eth_account import Account

    from tests.conftest import siwe_sign_in

    settings.VAR_DIR = tmp_path
    run("demo")
    wallets = json.loads((tmp_path / "demo" / "wallets.json").read_text())
    api = siwe_sign_in(client, Account.from_key(wallets["operator"]["key"]))
    assert api.call("web3.identity.whoami").result["roles"] == ["staff"]
