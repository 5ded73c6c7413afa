"""Alerts: the threshold rule applied asynchronously, one active alert per kind, filters, GET by id."""
import pytest

from contract_tests.support import assert_alert_shape, assert_problem, assert_validation, describe, parse_ts

pytestmark = pytest.mark.timeout(90)


def of(device):
    return lambda a: a["device_id"] == device["id"]


def test_reading_below_low_opens_a_low_alert(api, user):
    d = api.create_device(user, low_threshold=10, high_threshold=30)
    api.post_readings(user, d["id"], [5.5])
    a = api.wait_alert(user, of(d), message="low alert")
    assert_alert_shape(a)
    assert (a["kind"], a["status"], a["level"]) == ("low", "open", 1)
    assert a["threshold"] == 10 and a["first_value"] == 5.5 and a["last_value"] == 5.5
    assert a["reading_count"] == 1
    assert a["acknowledged_at"] is None and a["resolved_at"] is None and a["escalated_at"] is None
    assert api.alert(user, a["id"]) == a


def test_reading_above_high_opens_a_high_alert(api, user):
    d = api.create_device(user, low_threshold=10, high_threshold=30)
    api.post_readings(user, d["id"], [31.0])
    a = api.wait_alert(user, of(d), message="high alert")
    assert_alert_shape(a)
    assert (a["kind"], a["status"], a["threshold"], a["first_value"]) == ("high", "open", 30, 31.0)


def test_repeat_out_of_range_updates_the_one_active_alert(api, user):
    d = api.create_device(user, low_threshold=10)
    api.post_readings(user, d["id"], [5.0])
    first = api.wait_alert(user, of(d))
    api.post_readings(user, d["id"], [4.0])
    api.post_readings(user, d["id"], [3.0, 2.0])
    a = api.wait_alert(user, lambda a: a["device_id"] == d["id"] and a["reading_count"] == 4,
                       message="alert counting four readings")
    assert a["id"] == first["id"]
    assert (a["first_value"], a["last_value"], a["status"]) == (5.0, 2.0, "open")
    assert parse_ts(a["updated_at"]) >= parse_ts(first["updated_at"])
    assert [x["id"] for x in api.alerts(user, device_id=d["id"])] == [first["id"]]


def test_value_equal_to_a_threshold_is_inside(api, user):
    d = api.create_device(user, low_threshold=10, high_threshold=30)
    api.post_readings(user, d["id"], [10.0, 30.0])
    # Readings of a device are evaluated in order: when the alert of the later reading shows,
    # the threshold-equal readings were evaluated too, and opened nothing.
    api.post_readings(user, d["id"], [9.0])
    a = api.wait_alert(user, of(d))
    assert a["first_value"] == 9.0 and a["reading_count"] == 1
    assert len(api.alerts(user, device_id=d["id"])) == 1


def test_reading_inside_resolves_every_active_alert_of_the_device(api, user):
    d = api.create_device(user, low_threshold=10, high_threshold=30)
    other = api.create_device(user, low_threshold=10)
    api.post_readings(user, other["id"], [1.0])
    api.post_readings(user, d["id"], [5.0])
    low = api.wait_alert(user, of(d))
    api.post_readings(user, d["id"], [35.0])
    high = api.wait_alert(user, lambda a: a["device_id"] == d["id"] and a["kind"] == "high")
    # Out of range of the other kind does not resolve the low alert.
    assert api.alert(user, low["id"])["status"] == "open"
    api.post_readings(user, d["id"], [20.0])
    for alert in (low, high):
        r = api.wait_alert(user, lambda a, i=alert["id"]: a["id"] == i and a["status"] == "resolved",
                           message=f"{alert['kind']} alert resolved")
        assert_alert_shape(r)
        parse_ts(r["resolved_at"])
    other_alert = api.wait_alert(user, of(other))
    assert other_alert["status"] == "open"


def test_readings_of_a_batch_are_evaluated_in_array_order(api, user):
    d = api.create_device(user, low_threshold=10)
    # 5 opens, 20 resolves, 4 opens a new alert, 3 updates it.
    api.post_readings(user, d["id"], [5.0, 20.0, 4.0, 3.0])
    new = api.wait_alert(user, lambda a: a["device_id"] == d["id"] and a["first_value"] == 4.0
                         and a["reading_count"] == 2, message="second alert of the batch")
    old = api.wait_alert(user, lambda a: a["device_id"] == d["id"] and a["first_value"] == 5.0
                         and a["status"] == "resolved", message="first alert of the batch, resolved")
    assert (old["last_value"], old["reading_count"]) == (5.0, 1)
    assert (new["status"], new["last_value"]) == ("open", 3.0)
    assert len(api.alerts(user, device_id=d["id"])) == 2


def test_a_new_alert_opens_after_resolution(api, user):
    d = api.create_device(user, high_threshold=50)
    api.post_readings(user, d["id"], [60.0])
    first = api.wait_alert(user, of(d))
    api.post_readings(user, d["id"], [40.0])
    api.wait_alert(user, lambda a: a["id"] == first["id"] and a["status"] == "resolved")
    api.post_readings(user, d["id"], [70.0])
    second = api.wait_alert(user, lambda a: a["device_id"] == d["id"] and a["status"] == "open")
    assert second["id"] != first["id"] and second["first_value"] == 70.0


def test_filters_by_status_and_device(api, user):
    d1 = api.create_device(user, low_threshold=10)
    d2 = api.create_device(user, low_threshold=10)
    api.post_readings(user, d1["id"], [1.0])
    api.post_readings(user, d2["id"], [1.0])
    a1 = api.wait_alert(user, of(d1))
    a2 = api.wait_alert(user, of(d2))
    api.post_readings(user, d2["id"], [15.0])
    api.wait_alert(user, lambda a: a["id"] == a2["id"] and a["status"] == "resolved")
    assert [a["id"] for a in api.alerts(user, status="open")] == [a1["id"]]
    assert [a["id"] for a in api.alerts(user, status="resolved")] == [a2["id"]]
    assert api.alerts(user, status="acknowledged") == []
    assert [a["id"] for a in api.alerts(user, device_id=d2["id"])] == [a2["id"]]
    assert api.alerts(user, device_id=d1["id"], status="resolved") == []
    assert [a["id"] for a in api.alerts(user, device_id=d1["id"], status="open")] == [a1["id"]]
    ack = api.post(f"/alerts/{a1['id']}/ack", user=user)
    assert ack.status_code == 200, describe(ack)
    assert [a["id"] for a in api.alerts(user, status="acknowledged")] == [a1["id"]]
    assert api.alerts(user, status="open") == []


def test_bad_status_filter_is_422(api, user):
    assert_validation(api.get("/alerts", user=user, params={"status": "closed"}), "status")


def test_unknown_alert_id_is_404(api, user):
    missing = "01" + "Z" * 24
    assert_problem(api.get(f"/alerts/{missing}", user=user), 404, "not-found")
    assert_problem(api.post(f"/alerts/{missing}/ack", user=user), 404, "not-found")


def test_device_without_thresholds_never_alerts(api, user):
    d = api.create_device(user)
    api.post_readings(user, d["id"], [-1000.0, 1000.0])
    r = api.patch(f"/devices/{d['id']}", user=user, json={"low_threshold": 0})
    assert r.status_code == 200, describe(r)
    api.post_readings(user, d["id"], [-1.0])
    # Evaluated in order: once the alert of -1 shows, the earlier readings opened nothing.
    a = api.wait_alert(user, of(d))
    assert (a["first_value"], a["reading_count"], a["threshold"]) == (-1.0, 1, 0)
    assert len(api.alerts(user, device_id=d["id"])) == 1
