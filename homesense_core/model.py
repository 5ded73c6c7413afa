"""Value objects of the domain and their JSON forms (owner_id never leaves the server)."""

from dataclasses import dataclass
from datetime import datetime

from .clock import format_ts

DEVICE_KINDS = ("temperature", "humidity", "co2", "power")
ALERT_KINDS = ("low", "high")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
ACTIVE_STATUSES = ("open", "acknowledged")


@dataclass(frozen=True)
class User:
    """An account; password_hash is the passwords.hash_password string."""

    id: str
    username: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class Device:
    """A sensor owned by one user, with optional alert thresholds."""

    id: str
    owner_id: str
    name: str
    room: str
    kind: str
    unit: str
    low_threshold: float | None
    high_threshold: float | None
    escalation_after_seconds: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Reading:
    """One measurement; seq orders readings with equal recorded_at by acceptance."""

    device_id: str
    value: float
    recorded_at: datetime
    seq: int


@dataclass(frozen=True)
class Alert:
    """An out-of-range episode of one device and kind."""

    id: str
    device_id: str
    owner_id: str
    kind: str
    status: str
    level: int
    threshold: float
    first_value: float
    last_value: float
    reading_count: int
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None
    updated_at: datetime


def _ts(dt: datetime | None) -> str | None:
    return None if dt is None else format_ts(dt)


def user_to_json(user: User) -> dict:
    """Public form of a user (no password hash)."""
    return {"id": user.id, "username": user.username, "created_at": _ts(user.created_at)}


def device_to_json(device: Device) -> dict:
    """Public form of a device."""
    return {
        "id": device.id,
        "name": device.name,
        "room": device.room,
        "kind": device.kind,
        "unit": device.unit,
        "low_threshold": device.low_threshold,
        "high_threshold": device.high_threshold,
        "escalation_after_seconds": device.escalation_after_seconds,
        "created_at": _ts(device.created_at),
        "updated_at": _ts(device.updated_at),
    }


def reading_to_json(reading: Reading) -> dict:
    """Public form of a reading."""
    return {"value": reading.value, "recorded_at": _ts(reading.recorded_at)}


def alert_to_json(alert: Alert) -> dict:
    """Public form of an alert."""
    return {
        "id": alert.id,
        "device_id": alert.device_id,
        "kind": alert.kind,
        "status": alert.status,
        "level": alert.level,
        "threshold": alert.threshold,
        "first_value": alert.first_value,
        "last_value": alert.last_value,
        "reading_count": alert.reading_count,
        "opened_at": _ts(alert.opened_at),
        "acknowledged_at": _ts(alert.acknowledged_at),
        "resolved_at": _ts(alert.resolved_at),
        "escalated_at": _ts(alert.escalated_at),
        "updated_at": _ts(alert.updated_at),
    }
