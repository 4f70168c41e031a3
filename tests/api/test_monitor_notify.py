"""Alert notifications: the signed webhook (to a real receiver on loopback) and the e-mail sent when
an alert fires and when it clears, retried with backoff while the receiver is down, given up after
WEB3_ALERT_MAX_ATTEMPTS, held back by a rule's silence, and delivered once when two deliveries race.

Rules are made through web3.monitor.upsertRule and evaluated by the monitor.evaluate periodic job;
retries are run by the monitor.notify job (or notify_sweep at a given time)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from market.audit.checkpoints import seal_sweep
from market.jobs import notification_deliver_task
from market.models import Alert, AlertNotification
from market.services.monitor import failure_record
from market.services.notify import notification_deliver, notify_sweep
from openclaw.periodic import run_periodic_job_task
from tests.conftest import in_thread

SECRET = "whsec-test-0123456789abcdef"
RULE = "audit-backlog"


# --- a webhook receiver on loopback -------------------------------------------------------------------------


class Receiver:
    """A real HTTP server in a thread: records each POST (headers and raw body) and answers `status`;
    with `hold` set, a request waits (unanswered) until `release` is set."""

    def __init__(self, port: int = 0, *, status: int = 200, hold: bool = False) -> None:
        self.requests: list[dict] = []
        self.status = status
        self.hold = hold
        self.release = threading.Event()
        self.entered = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                if receiver.hold:
                    receiver.entered.set()
                    receiver.release.wait(30)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the sender gave up waiting
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    """start(port=0, **kw) -> a running Receiver, stopped after the test."""
    started: list[Receiver] = []

    def start(port: int = 0, **kwargs) -> Receiver:
        receiver = Receiver(port, **kwargs)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receivers) -> Receiver:
    return receivers()


def free_port() -> int:
    """A loopback port where nothing listens (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expected_signature(secret: str, request: dict) -> str:
    signed = request["headers"]["X-Web3-Timestamp"].encode() + b"." + request["body"]
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_by(secret: str, request: dict) -> bool:
    return hmac.compare_digest(request["headers"].get("X-Web3-Signature", ""), expected_signature(secret, request))


@pytest.fixture
def webhook(settings, receiver):
    settings.WEB3_ALERT_WEBHOOK_URL = receiver.url
    settings.WEB3_ALERT_WEBHOOK_SECRET = SECRET
    settings.WEB3_ALERT_EMAILS = []
    return receiver


# --- driving a rule from real state -----------------------------------------------------------------------


def audit_rule(staff, name: str = RULE, **fields) -> dict:
    """A rule on the audit events waiting for a checkpoint: every write appends one (this call too),
    and sealing clears it."""
    r = staff.call(
        "web3.monitor.upsertRule",
        {"name": name, "severity": "P1", "metric": "audit_unsealed_events", "threshold": 0, **fields},
    )
    assert r.ok, r.body
    return r.result


def evaluate() -> None:
    run_periodic_job_task("monitor.evaluate")


def evaluate_and_send(capture) -> None:
    """One monitor.evaluate run in the test's transaction, then what it queued after commit."""
    with capture(execute=True):
        evaluate()


def outbox(rule: str = RULE) -> list[AlertNotification]:
    return list(AlertNotification.objects.filter(alert__rule__name=rule).order_by("pk"))


def rule_mails(rule: str) -> list:
    return [m for m in mail.outbox if f"] {rule} " in m.subject]


def history(staff, rule: str = RULE) -> list[dict]:
    return staff.call("web3.monitor.history", {"rule": rule}).result["items"]


# --- webhook: fired and resolved -------------------------------------------------------------------------


@pytest.mark.keypath
@pytest.mark.django_db
def test_webhook_is_signed_and_posted_when_an_alert_fires_and_when_it_clears(
    staff, webhook, django_capture_on_commit_callbacks
):
    # given a rule on unsealed audit events, which its own creation trips
    audit_rule(staff)

    # when the monitor.evaluate job runs
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then the receiver got one signed POST saying the alert fired
    assert len(webhook.requests) == 1
    fired = webhook.requests[0]
    assert fired["path"] == "/hooks/alerts"
    assert fired["headers"]["Content-Type"] == "application/json"
    body = json.loads(fired["body"])
    alert = history(staff)[0]
    assert body["event"] == "alert.fired"
    assert body["market"] == "OpenClaw Web3 Market"
    assert body["alert"]["alertId"] == alert["alertId"]
    assert (body["alert"]["rule"], body["alert"]["severity"], body["alert"]["metric"]) == (
        RULE,
        "P1",
        "audit_unsealed_events",
    )
    assert body["alert"]["status"] == "alert_active" and body["alert"]["silenced"] is False
    assert body["alert"]["value"] >= 1
    assert fired["headers"]["X-Web3-Signature"].startswith("sha256=")
    assert signed_by(SECRET, fired)
    assert not signed_by("another-secret", fired)
    tampered = {**fired, "body": fired["body"].replace(b"alert.fired", b"alert.fixed")}
    assert not signed_by(SECRET, tampered)
    assert [(n.channel, n.event, n.status, n.attempts) for n in outbox()] == [
        ("webhook", "alert.fired", "notify_delivered", 1)
    ]

    # when the events are sealed and the job runs again
    seal_sweep()
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then a second signed POST says the same alert was resolved
    assert [e["event"] for e in webhook.events()] == ["alert.fired", "alert.resolved"]
    resolved = webhook.requests[1]
    assert signed_by(SECRET, resolved)
    body = json.loads(resolved["body"])
    assert body["alert"]["alertId"] == alert["alertId"]
    assert body["alert"]["status"] == "alert_resolved" and body["alert"]["resolvedAt"] is not None
    assert history(staff)[0]["status"] == "alert_resolved"
    assert [(n.event, n.status) for n in outbox()] == [
        ("alert.fired", "notify_delivered"),
        ("alert.resolved", "notify_delivered"),
    ]


WEBHOOK_ALERT_FIELDS = {
    "alertId",
    "rule",
    "key",
    "severity",
    "metric",
    "comparator",
    "threshold",
    "status",
    "silenced",
    "value",
    "lastValue",
    "peakValue",
    "details",
    "evaluations",
    "firedAt",
    "lastSeenAt",
    "acknowledgedAt",
    "acknowledgedBy",
    "resolvedAt",
}


@pytest.mark.django_db
def test_the_webhook_alert_has_its_documented_fields_as_the_api_shows_them_without_observations(
    staff, webhook, django_capture_on_commit_callbacks
):
    # given a rule whose alert has fired and been posted
    audit_rule(staff)
    evaluate_and_send(django_capture_on_commit_callbacks)

    # when staff read the same alert through the API
    sent = webhook.events()[0]["alert"]
    shown = history(staff)[0]

    # then the webhook's alert has exactly its own fields, the API's observations are not among them,
    # and each field says what the API says (times to the millisecond the webhook's JSON keeps)
    assert set(sent) == WEBHOOK_ALERT_FIELDS and "observations" in shown
    times = {k for k in WEBHOOK_ALERT_FIELDS if k.endswith("At")}
    assert {k: sent[k] for k in WEBHOOK_ALERT_FIELDS - times} == {k: shown[k] for k in WEBHOOK_ALERT_FIELDS - times}
    for k in times:
        if shown[k] is None:
            assert sent[k] is None, k
        else:
            apart = datetime.fromisoformat(shown[k]) - datetime.fromisoformat(sent[k])
            assert timedelta(0) <= apart < timedelta(milliseconds=1), k


@pytest.mark.django_db
def test_while_it_still_holds_no_further_webhook_is_sent(staff, webhook, django_capture_on_commit_callbacks):
    # given a rule whose alert has fired and been notified
    audit_rule(staff)
    evaluate_and_send(django_capture_on_commit_callbacks)
    assert len(webhook.requests) == 1

    # when the condition still holds (more events) at the next two evaluations
    audit_rule(staff, description="still holding")
    evaluate_and_send(django_capture_on_commit_callbacks)
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then nothing more was sent and the one alert counts three evaluations
    assert len(webhook.requests) == 1
    assert [a["evaluations"] for a in history(staff)] == [3]


@pytest.mark.django_db
def test_without_a_secret_the_webhook_is_sent_unsigned(settings, staff, webhook, django_capture_on_commit_callbacks):
    # given a webhook configured without a secret
    settings.WEB3_ALERT_WEBHOOK_SECRET = ""
    audit_rule(staff)

    # when the rule fires
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then the POST carries its timestamp but no signature
    assert len(webhook.requests) == 1
    assert "X-Web3-Signature" not in webhook.requests[0]["headers"]
    assert webhook.requests[0]["headers"]["X-Web3-Timestamp"].isdigit()


# --- retries, backoff, giving up --------------------------------------------------------------------------


@pytest.mark.keypath
@pytest.mark.django_db
def test_a_webhook_is_retried_while_the_receiver_is_down_then_delivered_once(
    settings, staff, receivers, django_capture_on_commit_callbacks
):
    # given a webhook pointing at a loopback port where nothing listens
    port = free_port()
    settings.WEB3_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{port}/hooks/alerts"
    settings.WEB3_ALERT_WEBHOOK_SECRET = SECRET
    settings.WEB3_ALERT_EMAILS = []
    audit_rule(staff)

    # when the rule fires
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then the notification waits for a retry, with an error that names neither the address nor the secret
    [row] = outbox()
    assert (row.status, row.attempts) == ("notify_pending", 1)
    assert row.last_error
    for secret_or_address in ("127.0.0.1", str(port), "/hooks", "http", SECRET):
        assert secret_or_address not in row.last_error
    assert row.next_attempt_at > timezone.now()

    # when the monitor.notify job runs before the retry is due
    run_periodic_job_task("monitor.notify")

    # then nothing is attempted
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("notify_pending", 1)

    # when the receiver comes up on that port and the job runs after the retry is due
    receiver = receivers(port)
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        run_periodic_job_task("monitor.notify")
        run_periodic_job_task("monitor.notify")

    # then it was delivered exactly once, signed
    assert [e["event"] for e in receiver.events()] == ["alert.fired"]
    assert signed_by(SECRET, receiver.requests[0])
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("notify_delivered", 2, "")
    assert row.delivered_at is not None


@pytest.mark.django_db
def test_backoff_grows_and_after_max_attempts_a_500_answering_webhook_is_given_up(
    settings, staff, receivers, django_capture_on_commit_callbacks
):
    # given a receiver that answers every POST with HTTP 500, and at most 4 attempts
    receiver = receivers(status=500)
    settings.WEB3_ALERT_WEBHOOK_URL = receiver.url
    settings.WEB3_ALERT_WEBHOOK_SECRET = SECRET
    settings.WEB3_ALERT_EMAILS = []
    settings.WEB3_ALERT_MAX_ATTEMPTS = 4
    audit_rule(staff)

    # when the rule fires (first attempt) and the sweep runs each time a retry falls due
    evaluate_and_send(django_capture_on_commit_callbacks)
    [row] = outbox()
    waits, attempted_at = [], row.created_at
    for _ in range(3):
        assert (row.status, row.last_error) == ("notify_pending", "webhook answered HTTP 500")
        waits.append((row.next_attempt_at - attempted_at).total_seconds())
        early = notify_sweep(now=row.next_attempt_at - timedelta(seconds=1))
        assert early["due"] == 0
        attempted_at = row.next_attempt_at
        result = notify_sweep(now=attempted_at)
        assert (result["due"], result["delivered"]) == (1, 0)
        row.refresh_from_db()

    # then each wait was longer than the one before, and the fourth failure gave it up
    assert waits[0] > 0 and waits[0] < waits[1] < waits[2]
    assert len(receiver.requests) == 4
    assert (row.status, row.attempts, row.last_error) == ("notify_failed", 4, "webhook answered HTTP 500")

    # when the receiver recovers and every later delivery path runs
    receiver.status = 200
    far = timezone.now() + timedelta(days=2)
    assert notify_sweep(now=far)["due"] == 0
    assert notification_deliver(notification_id=row.notification_id, now=far) is None
    notification_deliver_task.delay(row.notification_id)
    with time_machine.travel(far):
        run_periodic_job_task("monitor.notify")

    # then it is never sent again
    assert len(receiver.requests) == 4
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("notify_failed", 4)


@pytest.mark.django_db
def test_a_webhook_url_that_cannot_be_parsed_is_a_failed_attempt_and_is_given_up(
    settings, staff, webhook, django_capture_on_commit_callbacks
):
    # given a mistyped webhook URL (an unclosed IPv6 bracket) and at most 2 attempts
    settings.WEB3_ALERT_WEBHOOK_URL = "http://[::1/hooks/alerts"
    settings.WEB3_ALERT_MAX_ATTEMPTS = 2
    audit_rule(staff)

    # when the rule fires
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then the attempt is recorded as failed and a retry is scheduled, the URL not repeated
    [row] = outbox()
    assert (row.status, row.attempts, row.last_error) == ("notify_pending", 1, "webhook unreachable (InvalidURL)")
    assert row.next_attempt_at > timezone.now()

    # when the monitor.notify sweep retries it, the URL still mistyped
    result = notify_sweep(now=row.next_attempt_at)

    # then the sweep completes and the notification is given up
    assert result["due"] == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("notify_failed", 2)
    assert webhook.requests == []


@pytest.mark.django_db
def test_a_receiver_that_never_answers_times_out_and_evaluation_only_queues(
    settings, staff, receivers, django_capture_on_commit_callbacks
):
    # given a receiver that takes every request and never answers, and a short webhook timeout
    receiver = receivers(hold=True)
    settings.WEB3_ALERT_WEBHOOK_URL = receiver.url
    settings.WEB3_ALERT_WEBHOOK_SECRET = SECRET
    settings.WEB3_ALERT_EMAILS = []
    settings.WEB3_ALERT_WEBHOOK_TIMEOUT_SEC = 0.5
    audit_rule(staff)

    # when the monitor.evaluate job runs
    with django_capture_on_commit_callbacks(execute=False) as queued:
        evaluate()

    # then the alert fired and its notification is queued, nothing sent yet: evaluation does no delivery
    assert [a["status"] for a in history(staff)] == ["alert_active"]
    [row] = outbox()
    assert (row.status, row.attempts) == ("notify_pending", 0)
    assert receiver.requests == []
    assert queued

    # when the queued delivery task runs
    for callback in queued:
        callback()

    # then the receiver got the POST, the sender gave up waiting, and the attempt counts as failed
    assert receiver.entered.is_set() and len(receiver.requests) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("notify_pending", 1, "webhook timed out")
    assert row.next_attempt_at > timezone.now()


# --- e-mail -------------------------------------------------------------------------------------------------


@pytest.mark.keypath
@pytest.mark.django_db
def test_an_alert_sends_one_email_naming_severity_rule_and_value_then_one_when_it_clears(
    settings, staff, django_capture_on_commit_callbacks
):
    # given e-mail alerts only, and a rule on failed money operations, ten of which were recorded
    settings.WEB3_ALERT_WEBHOOK_URL = ""
    settings.WEB3_ALERT_EMAILS = ["ops@example.com"]
    r = staff.call(
        "web3.monitor.upsertRule",
        {"name": "ledger-failing", "severity": "P0", "metric": "ledger_failures", "threshold": 5, "windowSec": 600},
    )
    assert r.ok, r.body
    for _ in range(10):
        failure_record(operation="web3.ledger.transfer", kind="internal")

    # when the monitor.evaluate job runs
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then one mail about it went to the operators, its subject naming severity, rule and value (the
    # default settlement-failure-rate rule, when installed, fires on the same failures and mails too)
    mails = rule_mails("ledger-failing")
    assert len(mails) == 1
    assert mails[0].to == ["ops@example.com"]
    assert mails[0].subject == "[P0] ledger-failing FIRING: ledger_failures = 10"
    body = json.loads(mails[0].body)
    assert (body["event"], body["alert"]["rule"], body["alert"]["value"]) == ("alert.fired", "ledger-failing", 10)

    # when it is evaluated twice more while it still holds
    sent = len(mail.outbox)
    evaluate_and_send(django_capture_on_commit_callbacks)
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then no more mail was sent
    assert len(mail.outbox) == sent

    # when the operator raises the threshold above the value, so the condition clears
    assert staff.call("web3.monitor.upsertRule", {"name": "ledger-failing", "threshold": 100}).ok
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then one more mail says it was resolved
    assert [m.subject for m in mail.outbox[sent:]] == ["[P0] ledger-failing resolved: ledger_failures = 10"]
    assert [(n.channel, n.event, n.status) for n in outbox("ledger-failing")] == [
        ("email", "alert.fired", "notify_delivered"),
        ("email", "alert.resolved", "notify_delivered"),
    ]


@pytest.mark.django_db
def test_webhook_and_email_are_both_sent_and_each_is_its_own_outbox_row(
    settings, staff, webhook, django_capture_on_commit_callbacks
):
    # given both channels configured
    settings.WEB3_ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    audit_rule(staff)

    # when the rule fires
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then one webhook and one mail (to both addresses) were sent
    assert [e["event"] for e in webhook.events()] == ["alert.fired"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com", "oncall@example.com"]
    assert mail.outbox[0].subject.startswith(f"[P1] {RULE} FIRING: audit_unsealed_events = ")
    assert sorted((n.channel, n.status) for n in outbox()) == [
        ("email", "notify_delivered"),
        ("webhook", "notify_delivered"),
    ]


# --- silence -------------------------------------------------------------------------------------------------


@pytest.mark.keypath
@pytest.mark.django_db
def test_a_silenced_rule_records_its_alert_but_notifies_nobody_until_the_silence_is_lifted(
    settings, staff, webhook, django_capture_on_commit_callbacks
):
    # given both channels, and a rule silenced for the next hour
    settings.WEB3_ALERT_EMAILS = ["ops@example.com"]
    until = (timezone.now() + timedelta(hours=1)).isoformat()
    assert audit_rule(staff, silencedUntil=until)["silencedUntil"] is not None

    # when its condition holds and the job runs
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then the alert is recorded as silenced, and nobody was told
    [alert] = history(staff)
    assert (alert["status"], alert["silenced"]) == ("alert_active", True)
    assert webhook.requests == [] and mail.outbox == [] and outbox() == []

    # when the condition clears
    seal_sweep()
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then the alert is resolved, and still nobody was told
    assert history(staff)[0]["status"] == "alert_resolved"
    assert webhook.requests == [] and mail.outbox == [] and outbox() == []

    # when the silence is lifted and the condition holds again
    audit_rule(staff, silencedUntil=None)
    evaluate_and_send(django_capture_on_commit_callbacks)

    # then the new alert is notified on both channels
    assert [e["event"] for e in webhook.events()] == ["alert.fired"]
    assert len(mail.outbox) == 1
    assert webhook.events()[0]["alert"]["silenced"] is False


# --- exactly once ---------------------------------------------------------------------------------------------


@pytest.mark.keypath
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_racing_for_one_notification_post_it_once(settings, staff, receivers):
    # given a fired alert whose first webhook attempt failed (nothing listened on the port)
    port = free_port()
    settings.WEB3_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{port}/hooks/alerts"
    settings.WEB3_ALERT_WEBHOOK_SECRET = SECRET
    settings.WEB3_ALERT_EMAILS = []
    audit_rule(staff)
    evaluate()
    [row] = outbox()
    assert (row.status, row.attempts) == ("notify_pending", 1)
    due = row.next_attempt_at

    # and a receiver now on that port, holding each request unanswered until told
    receiver = receivers(port, hold=True)

    # when one delivery (the sweep, in another thread) is inside the POST
    thread, out = in_thread(notify_sweep, now=due)
    assert receiver.entered.wait(10)
    # and meanwhile a second delivery of the same row runs: directly, as the task, and as the sweep
    second = notification_deliver(notification_id=row.notification_id, now=due)
    notification_deliver_task.delay(row.notification_id)
    other_sweep = notify_sweep(now=due)
    receiver.release.set()
    thread.join(10)

    # then only the first reached the receiver, and the row is delivered after two attempts
    assert "error" not in out, out
    assert second is None and other_sweep["due"] == 0
    assert out["value"]["delivered"] == 1
    assert len(receiver.requests) == 1 and signed_by(SECRET, receiver.requests[0])
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("notify_delivered", 2)
    assert Alert.objects.get(rule__name=RULE).status == "alert_active"


@pytest.mark.django_db
def test_a_sweep_running_long_claims_and_backs_off_from_the_time_it_attempts_not_from_its_start(
    settings, staff, monkeypatch, django_capture_on_commit_callbacks
):
    # given two due notifications, and a webhook whose each attempt takes 100 s and then fails (a
    # slow receiver; the sweep's `now` is taken once, when it starts, and a batch takes its time)
    from market.services import notify

    settings.WEB3_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/hooks/alerts"
    settings.WEB3_ALERT_EMAILS = []
    audit_rule(staff, name="first-rule")
    audit_rule(staff, name="second-rule")
    with django_capture_on_commit_callbacks(execute=False):
        evaluate()  # queued, not yet attempted
    assert [r.attempts for r in AlertNotification.objects.all()] == [0, 0]
    start = max(r.next_attempt_at for r in AlertNotification.objects.all())
    claimable_while_sending, failed_at = [], []

    with time_machine.travel(start, tick=False) as clock:

        def slow_send(body, notification_id=""):
            clock.shift(100)
            # meanwhile, could another worker (a later sweep, the task) take the row being sent?
            [sending] = [
                r
                for r in AlertNotification.objects.filter(attempts=1, status="notify_pending")
                if r.notification_id not in {f for f, _ in failed_at}
            ]
            claimable_while_sending.append(sending.next_attempt_at <= timezone.now())
            failed_at.append((sending.notification_id, timezone.now()))
            raise notify.DeliveryFailed("webhook timed out")

        monkeypatch.setattr(notify, "_send_webhook", slow_send)
        # when one sweep attempts both
        assert notify_sweep(now=start)["retrying"] == 2

    # then no row was claimable by another worker while its POST was in flight
    assert claimable_while_sending == [False, False]
    # and each retry waits its backoff counted from when its attempt failed, not from the sweep's start
    for notification_id, at in failed_at:
        row = AlertNotification.objects.get(notification_id=notification_id)
        assert row.next_attempt_at >= at + timedelta(seconds=notify.backoff_seconds(1))
