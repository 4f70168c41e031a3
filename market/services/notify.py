"""Alert notifications: delivering the operator's webhook and e-mail from the outbox.

The transaction that fires or resolves an alert writes one AlertNotification per configured channel
(market.services.monitor) and, after commit, hands each to the Celery job
market.jobs.notification_deliver_task. A delivery claims its row, sends outside any transaction and
records the outcome; a failure is retried with exponential backoff (market.backoff: by Celery's
autoretry of the job, and by the monitor.notify sweep, which finds due rows by state: a lost message
only delays a notification). After WEB3_ALERT_MAX_ATTEMPTS the notification is marked failed.

Webhook: POST of the JSON body {"event", "alert", "market"} to WEB3_ALERT_WEBHOOK_URL, configured by
the operator and so not subject to the resource SSRF guard; no redirects; connect/read timeouts.
Headers: `X-Web3-Timestamp: <unix seconds>`, `X-Web3-Notification-Id: <id>` (the same on every
attempt of one notification: a worker that died mid-send leaves the receiver unsure whether it was
answered, so delivery is at least once and a receiver drops a second delivery of an id it has
acknowledged) and, when WEB3_ALERT_WEBHOOK_SECRET is set,
`X-Web3-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`. A receiver recomputes
the HMAC over the raw body and rejects old timestamps. Any 2xx answer is a delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from market import locks, outbound, states
from market.backoff import backoff_seconds
from market.models import Alert, AlertNotification

log = logging.getLogger("market.notify")
for _name in ("httpx", "httpcore"):  # their request lines would name the webhook URL
    logging.getLogger(_name).setLevel(logging.WARNING)

BATCH = 100


def claim_seconds() -> int:
    """How long a claimed delivery is left to its worker (WEB3_ALERT_CLAIM_SEC): well past the
    webhook timeout (connect, write and read), so another worker never sends the same notification
    while the first still waits; after it, a notification whose worker died is retried."""
    return int(max(settings.WEB3_ALERT_CLAIM_SEC, 4 * settings.WEB3_ALERT_WEBHOOK_TIMEOUT_SEC + 2))


class DeliveryFailed(Exception):
    """A delivery attempt failed; the message is safe to store and show (no URL, no secret)."""


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def alert_body(alert: Alert) -> dict[str, Any]:
    """The alert as a notification carries it (README "Notifications"): a contract of its own with
    the operator's receivers, who check an HMAC over these exact bytes, so it changes only on
    purpose, never because the API's alert (which also shows its observations) gains a field."""
    return {
        "alertId": alert.alert_id,
        "rule": alert.rule.name,
        "key": alert.key or None,
        "severity": alert.severity,
        "metric": alert.metric,
        "comparator": alert.comparator,
        "threshold": _number(alert.threshold),
        "status": alert.status,
        "silenced": alert.silenced,
        "value": _number(alert.value),
        "lastValue": _number(alert.last_value),
        "peakValue": _number(alert.peak_value),
        "details": alert.details,
        "evaluations": alert.evaluations,
        "firedAt": alert.fired_at,
        "lastSeenAt": alert.last_seen_at,
        "acknowledgedAt": alert.acknowledged_at,
        "acknowledgedBy": alert.acknowledged_by or None,
        "resolvedAt": alert.resolved_at,
    }


def payload(alert: Alert, event: str) -> dict:
    return {"event": event, "alert": alert_body(alert), "market": settings.WEB3_MARKET_NAME}


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _send_webhook(body: bytes, notification_id: str = "") -> None:
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "openclaw-market-alerts",
        "X-Web3-Timestamp": str(timestamp),
        "X-Web3-Notification-Id": notification_id,
    }
    if settings.WEB3_ALERT_WEBHOOK_SECRET:
        headers["X-Web3-Signature"] = webhook_signature(settings.WEB3_ALERT_WEBHOOK_SECRET, timestamp, body)
    timeout = settings.WEB3_ALERT_WEBHOOK_TIMEOUT_SEC
    try:
        with httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            follow_redirects=False,
            trust_env=False,
            verify=outbound.tls(),
        ) as client:
            response = client.post(settings.WEB3_ALERT_WEBHOOK_URL, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise DeliveryFailed("webhook timed out") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError: a URL httpx cannot parse
        raise DeliveryFailed(f"webhook unreachable ({type(exc).__name__})") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"webhook answered HTTP {response.status_code}")


def _send_email(alert: Alert, event: str, body: bytes) -> None:
    verb = "FIRING" if event == "alert.fired" else "resolved"
    value = format(alert.last_value.normalize(), "f")  # 10, not normalize()'s 1E+1
    subject = f"[{alert.severity}] {alert.rule.name} {verb}: {alert.metric} = {value}"
    try:
        send_mail(
            subject,
            json.dumps(json.loads(body), indent=2),
            settings.DEFAULT_FROM_EMAIL,
            settings.WEB3_ALERT_EMAILS,
            fail_silently=False,
        )
    except Exception as exc:  # noqa: BLE001 - any backend failure is a failed attempt
        raise DeliveryFailed(f"e-mail not sent ({type(exc).__name__})") from exc


def _attempt_time(now: datetime) -> datetime:
    """When an attempt really happens: a sweep passes the `now` it started at, which a long batch
    leaves behind; a claim or a backoff counted from it would already be over."""
    return max(now, timezone.now())


def _claim(notification_id: str, now: datetime) -> bool:
    """Take the next attempt of a due notification; False if it is not due or someone else has it."""
    until = _attempt_time(now) + timedelta(seconds=claim_seconds())
    return (
        AlertNotification.objects.filter(
            notification_id=notification_id,
            status=AlertNotification.Status.PENDING,
            next_attempt_at__lte=now,
        ).update(attempts=F("attempts") + 1, next_attempt_at=until)
        == 1
    )


def notification_deliver(*, notification_id: str, now: datetime | None = None) -> int | None:
    """One delivery attempt. Returns the seconds until the next attempt, or None when there is none
    (delivered, given up, not due, or taken by another worker)."""
    now = now or timezone.now()
    if not _claim(notification_id, now):
        return None
    row = AlertNotification.objects.select_related("alert", "alert__rule").get(notification_id=notification_id)
    body = json.dumps(payload(row.alert, row.event), cls=DjangoJSONEncoder, sort_keys=True).encode()
    try:
        if row.channel == AlertNotification.Channel.WEBHOOK:
            _send_webhook(body, row.notification_id)
        else:
            _send_email(row.alert, row.event, body)
    except DeliveryFailed as exc:
        return _failed(row, str(exc), now)
    except Exception as exc:  # noqa: BLE001 - still an attempt: counted, retried, given up; the sweep goes on
        log.exception("alert notification %s (%s): unexpected error", row.notification_id, row.channel)
        return _failed(row, f"{row.channel} not sent (unexpected {type(exc).__name__})", now)
    with transaction.atomic():
        row = locks.lock_notification(pk=row.pk)
        if row.status == AlertNotification.Status.PENDING:
            row.delivered_at, row.last_error = timezone.now(), ""
            states.transition(row, "deliver", update_fields=["delivered_at", "last_error"])
    return None


def _failed(row: AlertNotification, error: str, now: datetime) -> int | None:
    with transaction.atomic():
        row = locks.lock_notification(pk=row.pk)
        row.last_error = error[:200]
        if row.attempts >= settings.WEB3_ALERT_MAX_ATTEMPTS:
            log.error(
                "alert notification %s (%s) given up after %d attempts: %s",
                row.notification_id,
                row.channel,
                row.attempts,
                error,
            )
            states.transition(row, "give_up", update_fields=["last_error"])
            return None
        wait = backoff_seconds(row.attempts)
        row.next_attempt_at = _attempt_time(now) + timedelta(seconds=wait)
        row.save(update_fields=["last_error", "next_attempt_at"])
    log.warning(
        "alert notification %s (%s) attempt %d failed: %s; next in %ds",
        row.notification_id,
        row.channel,
        row.attempts,
        error,
        wait,
    )
    return wait


def notify_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Attempt every due notification (the retries, and any whose message was lost)."""
    now = now or timezone.now()
    due = list(
        AlertNotification.objects.filter(status=AlertNotification.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("notification_id", flat=True)[:BATCH]
    )
    delivered = retrying = 0
    for notification_id in due:
        if notification_deliver(notification_id=notification_id, now=now) is None:
            delivered += AlertNotification.objects.filter(
                notification_id=notification_id, status=AlertNotification.Status.DELIVERED
            ).count()
        else:
            retrying += 1
    return {"due": len(due), "delivered": delivered, "retrying": retrying}
