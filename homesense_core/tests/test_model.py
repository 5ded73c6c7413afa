from datetime import datetime, timedelta

import pytest

from homesense_core.clock import UTC
from homesense_core.model import (ALERT_KINDS, ALERT_STATUSES, DEVICE_KINDS, Alert, Device, Reading,
                                  User, alert_to_json, device_to_json, reading_to_json,
                                  user_to_json)

T0 = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)


def test_enumerations_match_the_contract():
    assert DEVICE_KINDS == ("temperature", "humidity", "co2", "power")
    assert ALERT_KINDS == ("low", "high")
    assert ALERT_STATUSES == ("open", "acknowledged", "resolved")


def test_user_json_hides_password_hash():
    assert user_to_json(User("u1", "alice", "scrypt$...", T0)) == {
        "id": "u1", "username": "alice", "created_at": "2026-11-27T09:00:00.000Z"}


def test_device_json_has_contract_fields_without_owner():
    d = Device("d1", "u1", "Hall", "", "co2", "ppm", None, 1000.0, 300, T0, T0 + timedelta(seconds=1))
    assert device_to_json(d) == {
        "id": "d1", "name": "Hall", "room": "", "kind": "co2", "unit": "ppm", "low_threshold": None,
        "high_threshold": 1000.0, "escalation_after_seconds": 300,
        "created_at": "2026-11-27T09:00:00.000Z", "updated_at": "2026-11-27T09:00:01.000Z"}


def test_reading_json_has_value_and_time_only():
    assert reading_to_json(Reading("d1", 2.5, T0, 7)) == {"value": 2.5, "recorded_at": "2026-11-27T09:00:00.000Z"}


def test_alert_json_has_contract_fields_and_null_times():
    a = Alert("a1", "d1", "u1", "low", "open", 1, 10.0, 5.0, 4.0, 2, T0, None, None, None, T0)
    body = alert_to_json(a)
    assert list(body) == ["id", "device_id", "kind", "status", "level", "threshold", "first_value",
                          "last_value", "reading_count", "opened_at", "acknowledged_at", "resolved_at",
                          "escalated_at", "updated_at"]
    assert body["acknowledged_at"] is None and body["opened_at"] == "2026-11-27T09:00:00.000Z"


def test_value_objects_are_frozen():
    with pytest.raises(AttributeError):
        User("u1", "alice", "h", T0).username = "bob"
