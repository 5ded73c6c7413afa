from datetime import datetime, timedelta

import pytest

from homesense_core.clock import UTC
from homesense_core.model import Device
from homesense_core.problems import ValidationFailed
from homesense_core.validation import (DeviceSpec, NewReading, NewUser, TokenRequest,
                                       apply_device_patch, new_device, parse_new_device,
                                       parse_new_user, parse_readings, parse_token_request)

NOW = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)


def fields_of(call, *args):
    """Field paths of the ValidationFailed raised by call(*args)."""
    with pytest.raises(ValidationFailed) as info:
        call(*args)
    assert info.value.status == 422
    return [e.field for e in info.value.errors]


# --- users and tokens ---------------------------------------------------------

def test_parse_new_user_returns_username_and_password():
    assert parse_new_user({"username": "alice.b-c_1", "password": "x" * 8}) == NewUser("alice.b-c_1", "x" * 8)


@pytest.mark.parametrize("username", ["abc", "a" * 32, "0.-_"])
def test_parse_new_user_accepts_username_bounds(username):
    assert parse_new_user({"username": username, "password": "password"}).username == username


@pytest.mark.parametrize("username", ["ab", "a" * 33, "Alice", "al ice", "alice\n", "ålice", 123, None, ["abc"]])
def test_parse_new_user_rejects_bad_usernames(username):
    assert fields_of(parse_new_user, {"username": username, "password": "password"}) == ["username"]


@pytest.mark.parametrize("password", ["x" * 8, "x" * 128, "ü" * 8])
def test_parse_new_user_accepts_password_bounds(password):
    assert parse_new_user({"username": "alice", "password": password}).password == password


@pytest.mark.parametrize("password", ["x" * 7, "x" * 129, 12345678, None, "\ud800" * 8, "pass\x00word"])
def test_parse_new_user_rejects_bad_passwords(password):
    assert fields_of(parse_new_user, {"username": "alice", "password": password}) == ["password"]


def test_parse_new_user_collects_all_errors_including_unknown_fields():
    assert sorted(fields_of(parse_new_user, {"admin": True})) == ["admin", "password", "username"]


@pytest.mark.parametrize("body", [[], "x", None, 5])
def test_parsers_reject_non_object_bodies_on_empty_field(body):
    for parse in (parse_new_user, parse_token_request, parse_new_device):
        assert fields_of(parse, body) == [""]
    assert fields_of(parse_readings, body, NOW) == [""]


def test_parse_token_request_defaults_expires_in_to_3600():
    assert parse_token_request({"username": "alice", "password": "pw"}) == TokenRequest("alice", "pw", 3600)


@pytest.mark.parametrize("expires_in, expected", [(1, 1), (3600, 3600), (60.0, 60)])
def test_parse_token_request_accepts_expires_in_range(expires_in, expected):
    body = {"username": "alice", "password": "pw", "expires_in": expires_in}
    assert parse_token_request(body).expires_in == expected


@pytest.mark.parametrize("expires_in", [0, 3601, -5, 1.5, True, "60", None, float("inf")])
def test_parse_token_request_rejects_bad_expires_in(expires_in):
    body = {"username": "alice", "password": "pw", "expires_in": expires_in}
    assert fields_of(parse_token_request, body) == ["expires_in"]


def test_parse_token_request_requires_string_credentials():
    assert sorted(fields_of(parse_token_request, {"username": 1, "extra": 2})) == ["extra", "password", "username"]


def test_parse_token_request_leaves_unknown_usernames_to_the_401_path():
    assert parse_token_request({"username": "No Such User", "password": ""}).username == "No Such User"


# --- devices ------------------------------------------------------------------

def test_parse_new_device_fills_defaults():
    assert parse_new_device({"name": "Hall", "kind": "temperature"}) == DeviceSpec(
        name="Hall", room="", kind="temperature", unit="", low_threshold=None,
        high_threshold=None, escalation_after_seconds=300)


def test_parse_new_device_takes_every_field_and_makes_thresholds_floats():
    spec = parse_new_device({"name": "n" * 100, "room": "r" * 100, "kind": "co2", "unit": "u" * 16,
                             "low_threshold": -5, "high_threshold": 30.5,
                             "escalation_after_seconds": 86400})
    assert spec == DeviceSpec("n" * 100, "r" * 100, "co2", "u" * 16, -5.0, 30.5, 86400)
    assert isinstance(spec.low_threshold, float)


@pytest.mark.parametrize("field, value", [
    ("name", ""), ("name", "n" * 101), ("name", None), ("name", 5),
    ("room", "r" * 101), ("room", None), ("unit", "u" * 17), ("unit", None), ("unit", 3),
    ("kind", "pressure"), ("kind", None), ("kind", ["co2"]),
    ("low_threshold", "5"), ("low_threshold", True), ("low_threshold", float("nan")),
    ("high_threshold", float("inf")), ("high_threshold", 10 ** 400), ("high_threshold", {}),
    ("escalation_after_seconds", 0), ("escalation_after_seconds", 86401),
    ("escalation_after_seconds", 1.5), ("escalation_after_seconds", None),
    ("escalation_after_seconds", False), ("name", "a\x00b"), ("name", "\udc80"),
])
def test_parse_new_device_rejects_each_bad_field(field, value):
    body = {"name": "Hall", "kind": "temperature", field: value}
    assert fields_of(parse_new_device, body) == [field]


@pytest.mark.parametrize("low, high", [(10, 10), (11, 10)])
def test_parse_new_device_requires_low_below_high(low, high):
    body = {"name": "Hall", "kind": "power", "low_threshold": low, "high_threshold": high}
    assert fields_of(parse_new_device, body) == ["low_threshold"]


def test_parse_new_device_allows_one_threshold_alone():
    assert parse_new_device({"name": "a", "kind": "humidity", "high_threshold": -100}).high_threshold == -100.0


def test_parse_new_device_collects_all_errors():
    body = {"kind": "toaster", "room": 1, "id": "x", "escalation_after_seconds": 0}
    assert sorted(fields_of(parse_new_device, body)) == sorted(
        ["name", "kind", "room", "id", "escalation_after_seconds"])


def make_device(**changes):
    spec = parse_new_device({"name": "Hall", "kind": "temperature", "low_threshold": 10,
                             "high_threshold": 30})
    device = new_device(spec, "owner1", NOW, device_id="dev1")
    return Device(**{**device.__dict__, **changes})


def test_new_device_copies_spec_and_stamps_times():
    device = make_device()
    assert (device.id, device.owner_id, device.name, device.low_threshold) == ("dev1", "owner1", "Hall", 10.0)
    assert device.created_at == device.updated_at == NOW


def test_new_device_generates_an_id_when_none_is_given():
    device = new_device(parse_new_device({"name": "a", "kind": "co2"}), "o", NOW)
    assert len(device.id) == 26


def test_empty_patch_leaves_device_and_updated_at_untouched():
    device = make_device()
    assert apply_device_patch(device, {}, NOW + timedelta(hours=1)) is device


def test_patch_merges_fields_and_bumps_updated_at():
    later = NOW + timedelta(minutes=1)
    patched = apply_device_patch(make_device(), {"name": "Attic", "high_threshold": None}, later)
    assert (patched.name, patched.low_threshold, patched.high_threshold) == ("Attic", 10.0, None)
    assert patched.updated_at == later and patched.created_at == NOW


def test_patch_checks_low_below_high_on_the_merged_result():
    device = make_device()
    assert fields_of(apply_device_patch, device, {"low_threshold": 30}, NOW) == ["low_threshold"]
    assert fields_of(apply_device_patch, device, {"high_threshold": 5}, NOW) == ["high_threshold"]
    moved = apply_device_patch(device, {"low_threshold": 40, "high_threshold": 50}, NOW)
    assert (moved.low_threshold, moved.high_threshold) == (40.0, 50.0)


@pytest.mark.parametrize("field", ["name", "kind", "room", "unit", "escalation_after_seconds"])
def test_patch_refuses_null_for_non_threshold_fields(field):
    assert fields_of(apply_device_patch, make_device(), {field: None}, NOW) == [field]


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at", "owner_id", "colour"])
def test_patch_refuses_read_only_and_unknown_fields(field):
    assert fields_of(apply_device_patch, make_device(), {field: "x"}, NOW) == [field]


def test_patch_rejects_non_object_body():
    assert fields_of(apply_device_patch, make_device(), [], NOW) == [""]


# --- readings -----------------------------------------------------------------

def test_parse_readings_defaults_recorded_at_to_now_and_keeps_order():
    readings = parse_readings({"readings": [{"value": 1}, {"value": -2.5, "recorded_at": "2026-11-27T08:00:00.123Z"}]}, NOW)
    assert readings == [NewReading(1.0, NOW), NewReading(-2.5, datetime(2026, 11, 27, 8, 0, 0, 123000, UTC))]
    assert isinstance(readings[0].value, float)


def test_parse_readings_accepts_500_items_and_5_minutes_ahead():
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert len(parse_readings({"readings": [{"value": 0, "recorded_at": ahead}] * 500}, NOW)) == 500


@pytest.mark.parametrize("readings", [[], [{"value": 1}] * 501, {"value": 1}, "x", None])
def test_parse_readings_rejects_bad_batch_shapes(readings):
    assert fields_of(parse_readings, {"readings": readings}, NOW) == ["readings"]


def test_parse_readings_requires_readings():
    assert fields_of(parse_readings, {}, NOW) == ["readings"]


@pytest.mark.parametrize("item, field", [
    ({}, "readings/0/value"),
    ({"value": "1"}, "readings/0/value"),
    ({"value": True}, "readings/0/value"),
    ({"value": None}, "readings/0/value"),
    ({"value": float("nan")}, "readings/0/value"),
    ({"value": 1e400}, "readings/0/value"),
    ({"value": 1, "recorded_at": "2026-11-27T09:00:00"}, "readings/0/recorded_at"),
    ({"value": 1, "recorded_at": "yesterday"}, "readings/0/recorded_at"),
    ({"value": 1, "recorded_at": None}, "readings/0/recorded_at"),
    ({"value": 1, "recorded_at": 1700000000}, "readings/0/recorded_at"),
    ({"value": 1, "recorded_at": "2026-11-27T09:05:00.001Z"}, "readings/0/recorded_at"),
    ({"value": 1, "unit": "C"}, "readings/0/unit"),
    (5, "readings/0"),
])
def test_parse_readings_reports_the_path_of_each_bad_item(item, field):
    assert fields_of(parse_readings, {"readings": [item]}, NOW) == [field]


def test_parse_readings_collects_errors_of_every_item():
    body = {"readings": [{"value": 1}, {"value": "x"}, {"recorded_at": "no"}], "extra": 1}
    assert fields_of(parse_readings, body, NOW) == [
        "extra", "readings/1/value", "readings/2/value", "readings/2/recorded_at"]
