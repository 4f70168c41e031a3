"""Celery jobs: each takes ids, calls one service, and leaves the retry of a transient failure to
Celery (autoretry_for with retry_backoff, the schedule of market.backoff). The database is the
outbox: the periodic jobs (WEB3_PERIODIC_JOBS, run by openclaw.periodic) find due work by state, so
a lost or exhausted message only delays the work. Imported as `<name>_task`."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from market import backoff
from market.services import notify


class NotDelivered(Exception):
    """The attempt failed; the notification's next attempt is due after its backoff."""


@shared_task(
    name="market.deliver_alert_notification",  # as before the move: messages queued under it still run
    ignore_result=True,
    autoretry_for=(NotDelivered,),
    retry_backoff=settings.WEB3_RETRY_BASE_SEC,
    retry_backoff_max=backoff.MAX_SEC,
    retry_jitter=False,
    # Unbounded here: the outbox row counts the attempts and gives up after WEB3_ALERT_MAX_ATTEMPTS,
    # and once the service answers that no attempt is left, no retry is raised.
    max_retries=None,
)
def notification_deliver_task(notification_id: str) -> None:
    """One delivery attempt. A retry that finds the row not due (the monitor.notify sweep attempted it
    meanwhile) or taken by another worker ends; the sweep goes on from there."""
    if notify.notification_deliver(notification_id=notification_id) is not None:
        raise NotDelivered(notification_id)


@shared_task(name="market.withdrawals_send", ignore_result=True)
def withdrawals_send_task() -> None:
    """Run the withdrawal sender once, soon after a request (the funds.withdrawals job's work)."""
    from market.services.funds_withdrawals import withdrawal_sweep

    withdrawal_sweep()
