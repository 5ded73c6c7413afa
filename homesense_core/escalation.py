"""Escalation policy: an alert left open climbs one level per period, up to MAX_LEVEL."""

from dataclasses import replace
from datetime import datetime, timedelta

from .model import Alert

MAX_LEVEL = 3


def escalation_due_at(alert: Alert, after_seconds: int) -> datetime | None:
    """When the next escalation is due, or None if the alert will not escalate again."""
    if alert.status != "open" or alert.level >= MAX_LEVEL:
        return None
    return (alert.escalated_at or alert.opened_at) + timedelta(seconds=after_seconds)


def escalate(alert: Alert, after_seconds: int, now: datetime) -> Alert | None:
    """The escalated alert, or None if it is not due, not open, or at MAX_LEVEL."""
    due = escalation_due_at(alert, after_seconds)
    if due is None or now < due:
        return None
    return replace(alert, level=alert.level + 1, escalated_at=now, updated_at=now)
