"""Messages of the WebSocket push channel."""

import json
from datetime import datetime

from .integration_events import ALERT_CHANGES, AlertChanged
from .model import Alert

EVENT_TYPES = tuple(AlertChanged.name_of(change) for change in ALERT_CHANGES)
PONG = {"type": "pong"}


def push_message(event_type: str, alert: Alert, now: datetime) -> dict:
    """{"type", "alert", "sent_at"} for one alert change."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return AlertChanged.of(event_type.partition(".")[2], alert).push_message(now)


def client_reply(text: str | bytes) -> dict | None:
    """The answer to a client message: pong for {"action":"ping"}, None for anything else."""
    try:
        message = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    if isinstance(message, dict) and message.get("action") == "ping":
        return dict(PONG)
    return None
