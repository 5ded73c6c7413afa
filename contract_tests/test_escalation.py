"""Escalation of unacknowledged alerts, and acknowledgement."""
import time

import pytest

from contract_tests.support import assert_alert_shape, assert_problem, describe, parse_ts, wait_until

pytestmark = pytest.mark.timeout(90)


def open_alert(api, user, after_seconds):
    return api.device_with_alert(user, [1.0], low_threshold=10, escalation_after_seconds=after_seconds)


def level_reaches(api, user, alert_id, level, timeout=12):
    def at_level():
        a = api.alert(user, alert_id)
        return a if a["level"] >= level else None
    return wait_until(at_level, timeout=timeout, message=f"alert {alert_id} at level {level}")


def test_open_alert_escalates_to_level_3_and_stops(api, user):
    _, a = open_alert(api, user, after_seconds=1)
    l2 = level_reaches(api, user, a["id"], 2)
    assert l2["status"] == "open"
    assert l2["escalated_at"] is not None
    assert parse_ts(l2["escalated_at"]) >= parse_ts(l2["opened_at"])
    l3 = level_reaches(api, user, a["id"], 3)
    assert_alert_shape(l3)
    assert l3["level"] == 3 and l3["status"] == "open"
    assert parse_ts(l3["escalated_at"]) >= parse_ts(l2["escalated_at"])
    # Three more escalation periods: it stays at the maximum level.
    time.sleep(3.5)
    final = api.alert(user, a["id"])
    assert final["level"] == 3 and final["escalated_at"] == l3["escalated_at"]


def test_escalation_never_comes_early_and_rises_one_level_per_period(api, user):
    period = 2
    _, a = open_alert(api, user, after_seconds=period)
    seen, versions = [], {}
    deadline = time.monotonic() + 4 * period + 8
    while time.monotonic() < deadline:
        now = api.alert(user, a["id"])
        if not seen or now["level"] != seen[-1]:
            seen.append(now["level"])
            versions[now["level"]] = now
        if now["level"] == 3:
            break
        time.sleep(0.1)
    # Polled ten times a period: every level shows, each one step above the last.
    assert seen == [1, 2, 3], seen
    opened = parse_ts(versions[1]["opened_at"])
    at2, at3 = parse_ts(versions[2]["escalated_at"]), parse_ts(versions[3]["escalated_at"])
    assert (at2 - opened).total_seconds() >= period, (versions[1]["opened_at"], versions[2]["escalated_at"])
    assert (at3 - at2).total_seconds() >= period, (versions[2]["escalated_at"], versions[3]["escalated_at"])


def test_acknowledging_stops_escalation(api, user):
    _, a = open_alert(api, user, after_seconds=4)
    r = api.post(f"/alerts/{a['id']}/ack", user=user)
    assert r.status_code == 200, describe(r)
    acked = r.json()
    assert_alert_shape(acked)
    assert acked["status"] == "acknowledged" and acked["acknowledged_at"] is not None
    assert acked["level"] < 3
    time.sleep(5)
    later = api.alert(user, a["id"])
    assert later == acked


def test_resolving_stops_escalation(api, user):
    d, a = open_alert(api, user, after_seconds=4)
    api.post_readings(user, d["id"], [20.0])
    resolved = api.wait_alert(user, lambda x: x["id"] == a["id"] and x["status"] == "resolved")
    assert resolved["level"] < 3
    time.sleep(5)
    assert api.alert(user, a["id"]) == resolved


def test_ack_is_idempotent(api, user):
    _, a = open_alert(api, user, after_seconds=300)
    first = api.post(f"/alerts/{a['id']}/ack", user=user)
    assert first.status_code == 200, describe(first)
    again = api.post(f"/alerts/{a['id']}/ack", user=user)
    assert again.status_code == 200, describe(again)
    assert again.json() == first.json()
    assert api.alert(user, a["id"]) == first.json()


def test_ack_of_a_resolved_alert_is_409_and_changes_nothing(api, user):
    d, a = open_alert(api, user, after_seconds=300)
    api.post_readings(user, d["id"], [20.0])
    resolved = api.wait_alert(user, lambda x: x["id"] == a["id"] and x["status"] == "resolved")
    assert_problem(api.post(f"/alerts/{a['id']}/ack", user=user), 409, "conflict")
    assert api.alert(user, a["id"]) == resolved


def test_acknowledged_alert_is_resolved_by_an_inside_reading(api, user):
    d, a = open_alert(api, user, after_seconds=300)
    assert api.post(f"/alerts/{a['id']}/ack", user=user).status_code == 200
    api.post_readings(user, d["id"], [4.0])
    # Still the one active alert: an acknowledged alert is active, so it is updated, not replaced.
    updated = api.wait_alert(user, lambda x: x["id"] == a["id"] and x["reading_count"] == 2)
    assert updated["status"] == "acknowledged"
    api.post_readings(user, d["id"], [20.0])
    r = api.wait_alert(user, lambda x: x["id"] == a["id"] and x["status"] == "resolved")
    assert r["acknowledged_at"] is not None
    assert len(api.alerts(user, device_id=d["id"])) == 1
