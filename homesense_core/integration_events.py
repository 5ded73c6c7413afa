"""The integration events: what one part of HomeSense tells another, declared once.

Every stage exchanges exactly these names and JSON payloads: stage 1 writes them to its
outbox table, stage 2 publishes them on NATS subjects "<namespace>.<name>", stage 3 reads
them from its DynamoDB stream. The catalogue with producers and consumers is docs/events.md.

Payloads carry "version"; a consumer refuses a version it does not know instead of guessing.
A payload without "version" predates versioning and is version 1 (same fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Mapping

from .clock import format_ts, parse_ts
from .model import Alert, Device, alert_to_json, device_to_json

VERSION = 1
DEVICE_CHANGES = ("created", "updated", "deleted")
ALERT_CHANGES = ("opened", "escalated", "acknowledged", "resolved")


class UnknownEvent(ValueError):
    """A name or version this code does not understand."""


def _check_version(data: Mapping) -> None:
    version = data.get("version", VERSION)
    if version != VERSION:
        raise UnknownEvent(f"unsupported event version {version!r}")


def _versioned(body: dict) -> dict:
    return {"version": VERSION, **body}


def _opt(value: str | None) -> dict:
    return {} if value is None else {"request_id": value}


def device_snapshot(device: Device) -> dict:
    """Internal JSON of a device: the public form plus owner_id (events and internal calls)."""
    return {**device_to_json(device), "owner_id": device.owner_id}


def device_from_snapshot(data: Mapping) -> Device:
    """Inverse of device_snapshot."""
    return Device(
        id=data["id"], owner_id=data["owner_id"], name=data["name"], room=data["room"],
        kind=data["kind"], unit=data["unit"], low_threshold=data["low_threshold"],
        high_threshold=data["high_threshold"],
        escalation_after_seconds=data["escalation_after_seconds"],
        created_at=parse_ts(data["created_at"]), updated_at=parse_ts(data["updated_at"]))


@dataclass(frozen=True)
class AcceptedReading:
    """One reading of an accepted batch; seq orders equal recorded_at by acceptance."""

    value: float
    recorded_at: datetime
    seq: int


@dataclass(frozen=True)
class ReadingsAccepted:
    """A batch of readings was stored; evaluate it in array order (name "reading.accepted").

    The device travels with the batch, so a consumer can evaluate against the thresholds that
    held at acceptance without calling back.
    """

    NAME: ClassVar[str] = "reading.accepted"
    version: ClassVar[int] = VERSION

    device: Device
    accepted_at: datetime
    readings: tuple[AcceptedReading, ...]
    request_id: str | None = None

    @property
    def name(self) -> str:
        """The event name (outbox topic, NATS subject suffix)."""
        return self.NAME

    @property
    def first_seq(self) -> int:
        """The seq of the first reading: identifies the batch within its device."""
        return self.readings[0].seq

    def to_json(self) -> dict:
        """The payload."""
        return _versioned({
            "device": device_snapshot(self.device), "accepted_at": format_ts(self.accepted_at),
            "readings": [{"value": r.value, "recorded_at": format_ts(r.recorded_at), "seq": r.seq}
                         for r in self.readings], **_opt(self.request_id)})

    @classmethod
    def from_json(cls, data: Mapping, name: str = NAME) -> ReadingsAccepted:
        """Inverse of to_json; UnknownEvent for another name or version."""
        if name != cls.NAME:
            raise UnknownEvent(f"not {cls.NAME}: {name!r}")
        _check_version(data)
        readings = tuple(AcceptedReading(r["value"], parse_ts(r["recorded_at"]), r["seq"])
                         for r in data["readings"])
        return cls(device_from_snapshot(data["device"]), parse_ts(data["accepted_at"]), readings,
                   data.get("request_id"))


@dataclass(frozen=True)
class DeviceChanged:
    """A device was created, updated or deleted (names "device.created|updated|deleted")."""

    version: ClassVar[int] = VERSION

    change: str
    device: Device
    request_id: str | None = None

    def __post_init__(self):
        if self.change not in DEVICE_CHANGES:
            raise UnknownEvent(f"unknown device change {self.change!r}")

    @staticmethod
    def name_of(change: str) -> str:
        """The event name of a change, e.g. "device.deleted" (a consumer's subject filter)."""
        return f"device.{change}"

    @property
    def name(self) -> str:
        """The event name (outbox topic, NATS subject suffix)."""
        return self.name_of(self.change)

    def to_json(self) -> dict:
        """The payload."""
        return _versioned({"device": device_snapshot(self.device), **_opt(self.request_id)})

    @classmethod
    def from_json(cls, data: Mapping, name: str) -> DeviceChanged:
        """Inverse of to_json; the change comes from the name."""
        family, _, change = name.partition(".")
        if family != "device":
            raise UnknownEvent(f"not a device event: {name!r}")
        _check_version(data)
        return cls(change, device_from_snapshot(data["device"]), data.get("request_id"))


@dataclass(frozen=True)
class AlertChanged:
    """An alert opened, escalated, was acknowledged or resolved (names "alert.<change>").

    The alert is kept in its public JSON form: the only consumer pushes it as it is.
    """

    version: ClassVar[int] = VERSION

    change: str
    owner_id: str
    alert: Mapping = field(hash=False)
    request_id: str | None = None

    def __post_init__(self):
        if self.change not in ALERT_CHANGES:
            raise UnknownEvent(f"unknown alert change {self.change!r}")

    @classmethod
    def of(cls, change: str, alert: Alert, request_id: str | None = None) -> AlertChanged:
        """The event for a change of this alert."""
        return cls(change, alert.owner_id, alert_to_json(alert), request_id)

    @staticmethod
    def name_of(change: str) -> str:
        """The event name of a change, e.g. "alert.opened"."""
        return f"alert.{change}"

    @property
    def name(self) -> str:
        """The event name, which is also the push message type."""
        return self.name_of(self.change)

    def push_message(self, sent_at: datetime) -> dict:
        """{"type", "alert", "sent_at"}: the WebSocket message for this change."""
        return {"type": self.name, "alert": dict(self.alert), "sent_at": format_ts(sent_at)}

    def to_json(self) -> dict:
        """The payload."""
        return _versioned({"alert": dict(self.alert), "owner_id": self.owner_id,
                           **_opt(self.request_id)})

    @classmethod
    def from_json(cls, data: Mapping, name: str) -> AlertChanged:
        """Inverse of to_json; the change comes from the name."""
        family, _, change = name.partition(".")
        if family != "alert":
            raise UnknownEvent(f"not an alert event: {name!r}")
        _check_version(data)
        return cls(change, data["owner_id"], dict(data["alert"]), data.get("request_id"))


IntegrationEvent = ReadingsAccepted | DeviceChanged | AlertChanged

_FAMILIES = {"reading": ReadingsAccepted, "device": DeviceChanged, "alert": AlertChanged}


def decode(name: str, data: Mapping) -> IntegrationEvent:
    """The event of a (name, payload) pair as read from an outbox row or a NATS message."""
    kind = _FAMILIES.get(name.partition(".")[0])
    if kind is None:
        raise UnknownEvent(f"unknown event {name!r}")
    return kind.from_json(data, name)
