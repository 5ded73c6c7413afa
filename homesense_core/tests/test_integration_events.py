import json
from datetime import datetime, timedelta

import pytest

from homesense_core.clock import UTC
from homesense_core.integration_events import (VERSION, AcceptedReading, AlertChanged, DeviceChanged,
                                               ReadingsAccepted, UnknownEvent, decode,
                                               device_from_snapshot, device_snapshot)
from homesense_core.model import Alert, Device

T0 = datetime(2026, 11, 27, 9, 0, 0, 123000, tzinfo=UTC)
DEVICE = Device(id="dev1", owner_id="owner1", name="Hall", room="", kind="temperature", unit="C",
                low_threshold=10.0, high_threshold=None, escalation_after_seconds=300,
                created_at=T0, updated_at=T0 + timedelta(seconds=1))
ALERT = Alert(id="al1", device_id="dev1", owner_id="owner1", kind="low", status="open", level=1,
              threshold=10.0, first_value=5.0, last_value=5.0, reading_count=1, opened_at=T0,
              acknowledged_at=None, resolved_at=None, escalated_at=None, updated_at=T0)
READINGS = ReadingsAccepted(DEVICE, T0, (AcceptedReading(5.5, T0, 7), AcceptedReading(-1e300, T0, 8)),
                            "req-1")

EVENTS = [READINGS, ReadingsAccepted(DEVICE, T0, (AcceptedReading(1.0, T0, 1),)),
          DeviceChanged("created", DEVICE), DeviceChanged("updated", DEVICE, "r"),
          DeviceChanged("deleted", DEVICE), AlertChanged.of("opened", ALERT, "req-2"),
          AlertChanged.of("escalated", ALERT), AlertChanged.of("acknowledged", ALERT),
          AlertChanged.of("resolved", ALERT)]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.name)
def test_every_event_survives_a_round_trip_through_json_text(event):
    payload = json.loads(json.dumps(event.to_json()))
    assert payload["version"] == VERSION
    assert decode(event.name, payload) == event
    assert type(event).from_json(payload, event.name) == event


def test_names_are_the_ones_the_stages_exchange():
    assert [e.name for e in EVENTS] == [
        "reading.accepted", "reading.accepted", "device.created", "device.updated", "device.deleted",
        "alert.opened", "alert.escalated", "alert.acknowledged", "alert.resolved"]


def test_readings_accepted_payload_shape_is_the_stage2_wire_format_plus_version():
    assert READINGS.to_json() == {
        "version": 1, "request_id": "req-1", "device": {**device_snapshot(DEVICE)},
        "accepted_at": "2026-11-27T09:00:00.123Z",
        "readings": [{"value": 5.5, "recorded_at": "2026-11-27T09:00:00.123Z", "seq": 7},
                     {"value": -1e300, "recorded_at": "2026-11-27T09:00:00.123Z", "seq": 8}]}
    assert READINGS.first_seq == 7


def test_a_payload_without_version_predates_versioning_and_reads_as_version_1():
    payload = AlertChanged.of("opened", ALERT).to_json()
    del payload["version"]
    assert decode("alert.opened", payload) == AlertChanged.of("opened", ALERT)


@pytest.mark.parametrize("name, payload", [
    ("reading.accepted", {**READINGS.to_json(), "version": 2}),
    ("reading.accepted.v2", READINGS.to_json()),
    ("readings.accepted", READINGS.to_json()),
    ("device.renamed", DeviceChanged("created", DEVICE).to_json()),
    ("alert.updated", AlertChanged.of("opened", ALERT).to_json()),
    ("user.created", {}),
])
def test_unknown_names_and_versions_are_refused_not_guessed(name, payload):
    with pytest.raises(UnknownEvent):
        decode(name, payload)


def test_alert_changed_keeps_public_json_and_pushes_it_unchanged():
    event = AlertChanged.of("opened", ALERT)
    assert "owner_id" not in event.alert and event.owner_id == "owner1"
    message = event.push_message(T0)
    assert message == {"type": "alert.opened", "alert": event.alert, "sent_at": "2026-11-27T09:00:00.123Z"}


def test_device_snapshot_round_trips_with_null_thresholds():
    assert device_from_snapshot(json.loads(json.dumps(device_snapshot(DEVICE)))) == DEVICE
