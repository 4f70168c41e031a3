"""Celery tasks: take ids, call a service."""

from __future__ import annotations

from celery import current_app, shared_task

from market.services import notify


@shared_task(name="market.deliver_alert_notification", ignore_result=True)
def deliver_alert_notification(notification_id: str) -> None:
    """One delivery attempt; on failure, the next attempt is queued after its backoff (the
    monitor.notify sweep also finds it, so a lost message only delays it)."""
    retry_in = notify.notification_deliver(notification_id=notification_id)
    if retry_in is not None and not current_app.conf.task_always_eager:
        deliver_alert_notification.apply_async((notification_id,), countdown=retry_in)
