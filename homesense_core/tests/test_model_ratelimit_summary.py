import math
from datetime import datetime, timedelta

import pytest

from homesense_core.clock import UTC
from homesense_core.model import (ALERT_KINDS, ALERT_STATUSES, DEVICE_KINDS, Alert, Device, Reading,
                                  User, alert_to_json, device_to_json, reading_to_json, user_to_json)
from homesense_core.ratelimit import DEFAULT_BURST, DEFAULT_RATE, TokenBucket
from homesense_core.summary import summarize

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


# --- rate limit -----------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_then_refuses_with_retry_after():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [(True, 0)] * 3
    assert bucket.take() == (False, 1)


def test_bucket_refills_at_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=1, clock=clock)
    assert bucket.take()[0]
    assert not bucket.take()[0]
    clock.now += 0.5
    assert bucket.take() == (True, 0)


def test_retry_after_is_a_ceiled_integer_of_at_least_one():
    clock = FakeClock()
    bucket = TokenBucket(rate=0.1, burst=1, clock=clock)
    bucket.take()
    assert bucket.take() == (False, 10)
    clock.now += 3.5
    assert bucket.take() == (False, 7)
    fast = TokenBucket(rate=1000, burst=1, clock=clock)
    fast.take()
    assert fast.take() == (False, 1)


def test_buckets_are_per_key():
    bucket = TokenBucket(rate=1, burst=1, clock=FakeClock())
    assert bucket.take("a")[0] and bucket.take("b")[0]
    assert not bucket.take("a")[0]


def test_burst_caps_accumulated_tokens():
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    clock.now += 3600
    assert [bucket.take()[0] for _ in range(3)] == [True, True, False]


def test_bucket_forgets_idle_keys_when_many_clients_appear():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    for i in range(10000):
        bucket.take(f"k{i}")
    clock.now += 10
    bucket.take("newcomer")
    assert len(bucket._buckets) < 100
    assert not bucket.take("newcomer")[0]


@pytest.mark.parametrize("rate, burst", [(0, 1), (-1, 1), (1, 0)])
def test_bucket_rejects_nonsense_settings(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_rate_limit_defaults_are_generous():
    assert (DEFAULT_RATE, DEFAULT_BURST) == (1000.0, 2000)


# --- summary ----------------------------------------------------------------------

def test_summary_of_nothing_is_count_zero_and_nulls():
    assert summarize([]) == {"count": 0, "min": None, "max": None, "mean": None,
                             "first_recorded_at": None, "last_recorded_at": None}


def test_summary_aggregates_values_and_time_range_in_any_order():
    readings = [(3, T0 + timedelta(seconds=2)), (1.5, T0), (-4.5, T0 + timedelta(seconds=1))]
    assert summarize(iter(readings)) == {
        "count": 3, "min": -4.5, "max": 3.0, "mean": 0.0,
        "first_recorded_at": "2026-11-27T09:00:00.000Z", "last_recorded_at": "2026-11-27T09:00:02.000Z"}


def test_summary_mean_is_a_float_and_survives_huge_values():
    assert isinstance(summarize([(2, T0)])["mean"], float)
    assert summarize([(1e308, T0), (1e308, T0)])["mean"] == 1e308
    assert math.isclose(summarize([(0.1, T0)] * 10)["mean"], 0.1)
