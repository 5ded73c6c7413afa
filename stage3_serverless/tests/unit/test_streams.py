"""Stream records to events: which records matter, and how images become domain objects."""

import json

from chalicelib.dynamo.items import alert_item, device_item, serialize
from chalicelib.streams import AlertItemChanged, events_of
from homesense_core.clock import parse_ts
from homesense_core.integration_events import AcceptedReading, DeviceChanged, ReadingsAccepted

from .test_ports import a_device, an_alert


def record(name, keys, new=None, old=None):
    body = {"Keys": serialize(keys), "SequenceNumber": "1", "SizeBytes": 1,
            "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 0}
    if new is not None:
        body["NewImage"] = serialize(new)
    if old is not None:
        body["OldImage"] = serialize(old)
    return {"eventName": name, "dynamodb": body, "eventID": "e", "awsRegion": "us-east-1"}


def test_batch_insert_becomes_readings_accepted_in_array_order():
    at = parse_ts("2026-01-01T00:00:00.000Z")
    sent = ReadingsAccepted(a_device(), at, (AcceptedReading(5.5, at, 1), AcceptedReading(1e300, at, 2)), "r1")
    keys = {"PK": "DEVICE#d1", "SK": "BATCH#000000000001"}
    item = {**keys, "owner_id": "u1", "device_id": "d1", "event": json.dumps(sent.to_json())}
    [event] = events_of([record("INSERT", keys, new=item)])
    assert event == sent


def test_alert_images_become_alert_changed_with_the_period():
    device = a_device()
    old = an_alert(device)
    new_item = {**alert_item(old, 45), "level": 2, "escalated_at": "2026-03-04T05:07:07.890Z"}
    [event] = events_of([record("MODIFY", {"PK": f"ALERT#{old.id}", "SK": "ALERT"},
                                new=new_item, old=alert_item(old, 45))])
    assert isinstance(event, AlertItemChanged)
    assert event.old == old and event.new.level == 2 and event.escalation_after_seconds == 45


def test_device_removal_is_noticed_and_everything_else_ignored():
    device = a_device()
    records = [
        record("REMOVE", {"PK": "USER#u1", "SK": "DEVICE#d1"}, old=device_item(device)),
        record("MODIFY", {"PK": "USER#u1", "SK": "DEVICE#d1"}, new={"next_seq": 3}),
        record("INSERT", {"PK": "DEVICE#d1", "SK": "R#2026-01-01T00:00:00.000Z#000000000001"}, new={"v": "1"}),
        record("REMOVE", {"PK": "DEVICE#d1", "SK": "BATCH#000000000001"}, old={"x": 1}),
        record("INSERT", {"PK": "WS#c1", "SK": "WS"}, new={"user_id": "u1"}),
    ]
    assert events_of(records) == [DeviceChanged("deleted", device)]


def test_unreadable_records_are_skipped_not_fatal():
    broken = record("INSERT", {"PK": "DEVICE#d1", "SK": "BATCH#000000000001"}, new={"event": "not json"})
    partial = record("REMOVE", {"PK": "USER#u1", "SK": "DEVICE#d2"}, old={"PK": "USER#u1"})
    device = a_device()
    ok = record("REMOVE", {"PK": "USER#u1", "SK": "DEVICE#d1"}, old=device_item(device))
    assert events_of([broken, partial, ok]) == [DeviceChanged("deleted", device)]


def test_state_machine_timestamps_without_zone_are_read_as_utc():
    from chalicelib.dynamo.items import unts
    assert unts("2026-01-01T00:00:01.123456") == parse_ts("2026-01-01T00:00:01.123Z")
    assert unts("2026-01-01T01:00:01.5+01:00") == parse_ts("2026-01-01T00:00:01.500Z")
