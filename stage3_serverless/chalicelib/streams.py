"""DynamoDB stream records of the table, as the few past-tense events the stage reacts to."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from homesense_core.clock import parse_ts
from homesense_core.model import Alert

from .dynamo.items import alert_from, deserialize

log = logging.getLogger("homesense." + __name__)


@dataclass(frozen=True)
class ReadingsAccepted:
    """A batch of readings was stored; evaluate it in array order."""

    owner_id: str
    device_id: str
    readings: list[tuple[float, datetime, int]]


@dataclass(frozen=True)
class AlertChanged:
    """An alert item was inserted, modified or removed (by anyone: stream, API, state machine)."""

    old: Alert | None
    new: Alert | None
    escalation_after_seconds: int


@dataclass(frozen=True)
class DeviceDeleted:
    """A device item was removed."""

    owner_id: str
    device_id: str


def _image(record: dict, name: str) -> dict | None:
    raw = record.get("dynamodb", {}).get(name)
    return deserialize(raw) if raw else None


def event_of(record: dict):
    """The event a stream record means, or None for the many records nobody reacts to."""
    name = record.get("eventName")
    keys = deserialize(record.get("dynamodb", {}).get("Keys", {}))
    pk, sk = str(keys.get("PK", "")), str(keys.get("SK", ""))
    if pk.startswith("DEVICE#") and sk.startswith("BATCH#") and name == "INSERT":
        item = _image(record, "NewImage")
        readings = [(float(v), parse_ts(t), int(s)) for v, t, s in json.loads(item["readings"])]
        return ReadingsAccepted(item["owner_id"], item["device_id"], readings)
    if pk.startswith("ALERT#") and sk == "ALERT":
        old, new = _image(record, "OldImage"), _image(record, "NewImage")
        after = (new or old or {}).get("escalation_after_seconds", 0)
        return AlertChanged(alert_from(old) if old else None, alert_from(new) if new else None, int(after))
    if pk.startswith("USER#") and sk.startswith("DEVICE#") and name == "REMOVE":
        return DeviceDeleted(pk.split("#", 1)[1], sk.split("#", 1)[1])
    return None


def events_of(records: list[dict]) -> list:
    """Events of a batch of records, in stream order; unreadable records are logged and skipped."""
    events = []
    for record in records:
        try:
            event = event_of(record)
        except (KeyError, ValueError, TypeError):
            log.exception("unreadable stream record %s", record.get("eventID"))
            continue
        if event is not None:
            events.append(event)
    return events
