"""DynamoDB stream records of the table, as the events the stage reacts to.

Two are integration events declared in homesense_core (ReadingsAccepted, DeviceChanged); the
third, AlertItemChanged, is this stage's own view of an alert item before and after a write,
from which homesense_core.alerts.alert_events derives the AlertChanged events to push.
"""

import json
import logging
from dataclasses import dataclass

from homesense_core.integration_events import DeviceChanged, ReadingsAccepted
from homesense_core.model import Alert

from .dynamo.items import alert_from, deserialize, device_from

log = logging.getLogger("homesense." + __name__)


@dataclass(frozen=True)
class AlertItemChanged:
    """An alert item was inserted, modified or removed (by anyone: stream, API, state machine)."""

    old: Alert | None
    new: Alert | None
    escalation_after_seconds: int


def _image(record: dict, name: str) -> dict | None:
    raw = record.get("dynamodb", {}).get(name)
    return deserialize(raw) if raw else None


def event_of(record: dict):
    """The event a stream record means, or None for the many records nobody reacts to."""
    name = record.get("eventName")
    keys = deserialize(record.get("dynamodb", {}).get("Keys", {}))
    pk, sk = str(keys.get("PK", "")), str(keys.get("SK", ""))
    if pk.startswith("DEVICE#") and sk.startswith("BATCH#") and name == "INSERT":
        return ReadingsAccepted.from_json(json.loads(_image(record, "NewImage")["event"]))
    if pk.startswith("ALERT#") and sk == "ALERT":
        old, new = _image(record, "OldImage"), _image(record, "NewImage")
        after = (new or old or {}).get("escalation_after_seconds", 0)
        return AlertItemChanged(alert_from(old) if old else None, alert_from(new) if new else None,
                                int(after))
    if pk.startswith("USER#") and sk.startswith("DEVICE#") and name == "REMOVE":
        return DeviceChanged("deleted", device_from(_image(record, "OldImage")))
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
