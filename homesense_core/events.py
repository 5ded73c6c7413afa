"""Messages of the WebSocket push channel."""

import json
from datetime import datetime

from .clock import format_ts
from .model import Alert, alert_to_json

EVENT_TYPES = ("alert.opened", "alert.escalated", "alert.acknowledged", "alert.resolved")
PONG = {"type": "pong"}


def push_message(event_type: str, alert: Alert, now: datetime) -> dict:
    """{"type", "alert", "sent_at"} for one alert change."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {"type": event_type, "alert": alert_to_json(alert), "sent_at": format_ts(now)}


def client_reply(text: str | bytes) -> dict | None:
    """The answer to a client message: pong for {"action":"ping"}, None for anything else."""
    try:
        message = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    if isinstance(message, dict) and message.get("action") == "ping":
        return dict(PONG)
    return None
