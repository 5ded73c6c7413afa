"""Readings: 202 batches, validation, time window, read-after-write and the summary."""
import math
from datetime import timedelta

import pytest

from contract_tests.support import (assert_problem, assert_validation, describe, fmt_ts, now_utc,
                                    parse_ts)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def user(shared_user):
    """Every test here looks only at resources it creates itself: one user for the module."""
    return shared_user


@pytest.fixture
def device(api, user):
    return api.create_device(user)


def post(api, user, device, readings, **kw):
    return api.post(f"/devices/{device['id']}/readings", user=user, json={"readings": readings}, **kw)


def stored(api, user, device):
    return api.readings(user, device["id"])


def test_batch_is_accepted_with_202_and_its_count(api, user, device):
    r = post(api, user, device, [{"value": 20.5}, {"value": 21}, {"value": -3.25}])
    assert r.status_code == 202, describe(r)
    assert r.json() == {"accepted": 3}
    got = stored(api, user, device)
    assert [x["value"] for x in got] == [20.5, 21, -3.25]
    for x in got:
        assert set(x) == {"value", "recorded_at"}
        parse_ts(x["recorded_at"])


def test_read_after_write_is_immediate(api, user, device):
    for i in range(5):
        assert post(api, user, device, [{"value": float(i)}]).status_code == 202
        # No waiting: a 202 reading is visible to the very next GET.
        assert [x["value"] for x in stored(api, user, device)] == [float(v) for v in range(i + 1)]


def test_default_recorded_at_is_the_acceptance_time(api, user, device):
    before = now_utc()
    post(api, user, device, [{"value": 1.0}])
    after = now_utc()
    t = parse_ts(stored(api, user, device)[0]["recorded_at"])
    assert before - timedelta(minutes=2) <= t <= after + timedelta(minutes=2)


def test_given_recorded_at_is_kept_and_normalised_to_utc(api, user, device):
    post(api, user, device, [{"value": 1.0, "recorded_at": "2026-01-02T05:06:07.089Z"},
                             {"value": 2.0, "recorded_at": "2026-01-02T07:06:08.100+02:00"}])
    got = stored(api, user, device)
    assert [(x["value"], x["recorded_at"]) for x in got] == [
        (1.0, "2026-01-02T05:06:07.089Z"), (2.0, "2026-01-02T05:06:08.100Z")]


def test_500_readings_are_accepted_501_are_422(api, user, device):
    r = post(api, user, device, [{"value": float(i)} for i in range(501)])
    assert_validation(r, "readings")
    assert stored(api, user, device) == []
    r = post(api, user, device, [{"value": float(i)} for i in range(500)])
    assert r.status_code == 202 and r.json() == {"accepted": 500}, describe(r)
    assert len(stored(api, user, device)) == 500


@pytest.mark.parametrize("body", [{"readings": []}, {}, {"readings": None}, {"readings": {"value": 1}},
                                  {"readings": [{"value": 1}], "extra": 1}])
def test_bad_batch_is_422(api, user, device, body):
    r = api.post(f"/devices/{device['id']}/readings", user=user, json=body)
    assert_problem(r, 422, "validation-error")
    assert stored(api, user, device) == []


@pytest.mark.parametrize("value", [True, False, None, "21.5", [1], {"v": 1}])
def test_non_number_value_is_422_on_its_path(api, user, device, value):
    r = post(api, user, device, [{"value": value}])
    assert_validation(r, "readings/0/value")
    assert stored(api, user, device) == []


def test_non_finite_value_is_422_on_its_path(api, user, device):
    # 1e999 is valid JSON syntax that overflows to infinity.
    raw = '{"readings": [{"value": 1.0}, {"value": 2.0}, {"value": 1e999}]}'
    r = api.post(f"/devices/{device['id']}/readings", user=user, data=raw,
                 headers={"Content-Type": "application/json"})
    assert_validation(r, "readings/2/value")
    assert stored(api, user, device) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(api, user, device, literal):
    # Not JSON at all (400) or parsed leniently and refused as non-finite (422); never stored.
    raw = '{"readings": [{"value": %s}]}' % literal
    r = api.post(f"/devices/{device['id']}/readings", user=user, data=raw,
                 headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422), describe(r)
    assert_problem(r, r.status_code)
    assert stored(api, user, device) == []


def test_missing_value_is_422_on_its_path(api, user, device):
    r = post(api, user, device, [{"value": 1.0}, {"recorded_at": fmt_ts(now_utc())}])
    assert_validation(r, "readings/1/value")
    assert stored(api, user, device) == []


def test_unknown_reading_field_is_422(api, user, device):
    r = post(api, user, device, [{"value": 1.0, "unit": "C"}])
    assert_problem(r, 422, "validation-error")
    assert stored(api, user, device) == []


def test_recorded_at_more_than_5_minutes_ahead_is_422(api, user, device):
    r = post(api, user, device, [{"value": 1.0}, {"value": 2.0, "recorded_at": fmt_ts(now_utc() + timedelta(minutes=10))}])
    assert_validation(r, "readings/1/recorded_at")
    assert stored(api, user, device) == []


def test_recorded_at_slightly_ahead_is_accepted(api, user, device):
    ahead = fmt_ts(now_utc() + timedelta(minutes=2))
    assert post(api, user, device, [{"value": 1.0, "recorded_at": ahead}]).status_code == 202
    assert stored(api, user, device)[0]["recorded_at"] == ahead


@pytest.mark.parametrize("value", ["yesterday", "2026-01-02", "2026-01-02T05:06:07", 1735689600, "2026-13-40T00:00:00.000Z"])
def test_bad_recorded_at_is_422(api, user, device, value):
    r = post(api, user, device, [{"value": 1.0, "recorded_at": value}])
    assert_validation(r, "readings/0/recorded_at")
    assert stored(api, user, device) == []


def test_readings_with_equal_recorded_at_are_all_kept(api, user, device):
    t = fmt_ts(now_utc() - timedelta(minutes=1))
    post(api, user, device, [{"value": 1.0, "recorded_at": t}, {"value": 1.0, "recorded_at": t}])
    post(api, user, device, [{"value": 2.0, "recorded_at": t}])
    got = stored(api, user, device)
    assert [(x["value"], x["recorded_at"]) for x in got] == [(1.0, t), (1.0, t), (2.0, t)]


@pytest.fixture
def timeline(api, user, device):
    """Readings at t0..t4, one second apart, values 10..14."""
    t0 = now_utc().replace(microsecond=0) - timedelta(hours=2)
    ts = [fmt_ts(t0 + timedelta(seconds=i)) for i in range(5)]
    post(api, user, device, [{"value": 10.0 + i, "recorded_at": t} for i, t in enumerate(ts)])
    return ts


def test_from_is_inclusive_and_to_is_exclusive(api, user, device, timeline):
    got = api.readings(user, device["id"], **{"from": timeline[1], "to": timeline[3]})
    assert [x["recorded_at"] for x in got] == timeline[1:3]
    got = api.readings(user, device["id"], **{"from": timeline[3]})
    assert [x["value"] for x in got] == [13.0, 14.0]
    got = api.readings(user, device["id"], to=timeline[1])
    assert [x["value"] for x in got] == [10.0]
    got = api.readings(user, device["id"], **{"from": timeline[1], "to": timeline[3], "order": "desc"})
    assert [x["value"] for x in got] == [12.0, 11.0]


BEFORE_YEAR_1 = "0001-01-01T00:00:00+01:00"   # valid RFC 3339; 0000-12-31T23:00Z in UTC
AFTER_YEAR_9999 = "9999-12-31T23:59:59-01:00"


def test_a_bound_beyond_the_representable_years_is_a_filter_not_an_error(api, user, device, timeline):
    # Any RFC 3339 date-time is a valid bound; one whose offset leaves years 1..9999 in UTC is
    # simply earlier (later) than every reading.
    everything = [10.0, 11.0, 12.0, 13.0, 14.0]
    got = api.readings(user, device["id"], **{"from": BEFORE_YEAR_1, "to": AFTER_YEAR_9999})
    assert [x["value"] for x in got] == everything
    assert api.readings(user, device["id"], to=BEFORE_YEAR_1) == []
    assert api.readings(user, device["id"], **{"from": AFTER_YEAR_9999}) == []
    r = api.get(f"/devices/{device['id']}/readings/summary", user=user,
                params={"from": BEFORE_YEAR_1, "to": AFTER_YEAR_9999})
    assert r.status_code == 200, describe(r)
    assert r.json()["count"] == 5
    r = api.get(f"/devices/{device['id']}/readings/summary", user=user, params={"to": BEFORE_YEAR_1})
    assert r.status_code == 200 and r.json()["count"] == 0, describe(r)


@pytest.mark.parametrize("param", ["from", "to"])
def test_bad_time_window_parameter_is_422(api, user, device, param):
    r = api.get(f"/devices/{device['id']}/readings", user=user, params={param: "last tuesday"})
    assert_validation(r, param)
    r = api.get(f"/devices/{device['id']}/readings/summary", user=user, params={param: "last tuesday"})
    assert_validation(r, param)


def test_summary_of_no_readings_is_count_0_and_nulls(api, user, device):
    r = api.get(f"/devices/{device['id']}/readings/summary", user=user)
    assert r.status_code == 200, describe(r)
    assert r.json() == {"count": 0, "min": None, "max": None, "mean": None,
                        "first_recorded_at": None, "last_recorded_at": None}


def test_summary_aggregates_all_readings(api, user, device, timeline):
    r = api.get(f"/devices/{device['id']}/readings/summary", user=user)
    assert r.status_code == 200, describe(r)
    s = r.json()
    assert set(s) == {"count", "min", "max", "mean", "first_recorded_at", "last_recorded_at"}
    assert s["count"] == 5 and s["min"] == 10.0 and s["max"] == 14.0
    assert math.isclose(s["mean"], 12.0)
    assert s["first_recorded_at"] == timeline[0] and s["last_recorded_at"] == timeline[4]


def test_summary_honours_from_and_to(api, user, device, timeline):
    r = api.get(f"/devices/{device['id']}/readings/summary", user=user,
                params={"from": timeline[1], "to": timeline[4]})
    s = r.json()
    assert s["count"] == 3 and s["min"] == 11.0 and s["max"] == 13.0
    assert math.isclose(s["mean"], 12.0)
    assert (s["first_recorded_at"], s["last_recorded_at"]) == (timeline[1], timeline[3])
    r = api.get(f"/devices/{device['id']}/readings/summary", user=user,
                params={"from": timeline[4], "to": timeline[4]})
    assert r.json()["count"] == 0 and r.json()["mean"] is None


def test_summary_mean_is_exact_for_uneven_values(api, user, device):
    post(api, user, device, [{"value": v} for v in (1.5, 2.25, -0.75, 100.0)])
    s = api.get(f"/devices/{device['id']}/readings/summary", user=user).json()
    assert s["count"] == 4 and s["min"] == -0.75 and s["max"] == 100.0
    assert math.isclose(s["mean"], (1.5 + 2.25 - 0.75 + 100.0) / 4)
