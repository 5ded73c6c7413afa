from dataclasses import replace
from datetime import timedelta

import pytest

from homesense_core.alerts import (Transition, acknowledge, alert_events, evaluate_batch,
                                   evaluate_reading, out_of_range_kind)
from homesense_core.escalation import escalate
from homesense_core.problems import Conflict
from homesense_core.tests.alert_support import T0, device, ids, only, open_alert


def test_reading_below_low_opens_a_low_alert_with_full_initial_state():
    t = only(evaluate_reading(device(), 5.0, [], T0, new_id=ids()))
    assert t.change == "opened"
    a = t.alert
    assert (a.id, a.device_id, a.owner_id, a.kind, a.status, a.level) == ("alert1", "dev1", "owner1", "low", "open", 1)
    assert (a.threshold, a.first_value, a.last_value, a.reading_count) == (10.0, 5.0, 5.0, 1)
    assert a.opened_at == a.updated_at == T0
    assert (a.acknowledged_at, a.resolved_at, a.escalated_at) == (None, None, None)


def test_reading_above_high_opens_a_high_alert_at_the_high_threshold():
    a = only(evaluate_reading(device(), 31.0, [], T0, new_id=ids())).alert
    assert (a.kind, a.threshold) == ("high", 30.0)


@pytest.mark.parametrize("value", [10.0, 30.0, 20.0])
def test_values_equal_to_a_threshold_are_inside(value):
    assert out_of_range_kind(device(), value) is None
    assert evaluate_reading(device(), value, [], T0) == []


def test_device_without_thresholds_never_alerts():
    assert evaluate_reading(device(None, None), -1e300, [], T0) == []
    assert evaluate_reading(device(None, None), 1e300, [], T0) == []


def test_one_sided_thresholds_alert_only_on_their_side():
    assert out_of_range_kind(device(None, 30.0), -1000) is None
    assert out_of_range_kind(device(None, 30.0), 31) == "high"
    assert out_of_range_kind(device(10.0, None), 1000) is None
    assert out_of_range_kind(device(10.0, None), 9) == "low"


def test_further_out_of_range_reading_updates_the_active_alert():
    first = open_alert()
    later = T0 + timedelta(seconds=10)
    t = only(evaluate_reading(device(), 3.0, [first], later))
    assert t.change == "updated"
    assert t.alert == replace(first, last_value=3.0, reading_count=2, updated_at=later)


def test_acknowledged_alert_is_still_active_and_gets_updated():
    acked, _ = acknowledge(open_alert(), T0)
    t = only(evaluate_reading(device(), 4.0, [acked], T0 + timedelta(seconds=1)))
    assert t.change == "updated" and t.alert.status == "acknowledged" and t.alert.reading_count == 2


def test_inside_reading_resolves_every_active_alert():
    low = open_alert()
    high = replace(open_alert(value=40.0), id="other", kind="high", status="acknowledged")
    later = T0 + timedelta(minutes=1)
    transitions = evaluate_reading(device(), 20.0, [low, high], later)
    assert [t.change for t in transitions] == ["resolved", "resolved"]
    for before, t in zip([low, high], transitions):
        assert t.alert == replace(before, status="resolved", resolved_at=later, updated_at=later)


def test_out_of_range_of_the_other_kind_opens_without_resolving():
    low = open_alert()
    t = only(evaluate_reading(device(), 35.0, [low], T0, new_id=lambda: "new"))
    assert (t.change, t.alert.kind, t.alert.id) == ("opened", "high", "new")


def test_resolved_alerts_and_other_devices_alerts_are_ignored():
    resolved = replace(open_alert(), status="resolved", resolved_at=T0)
    foreign = replace(open_alert(), id="f", device_id="dev2")
    assert only(evaluate_reading(device(), 5.0, [resolved, foreign], T0, new_id=lambda: "n")).change == "opened"
    assert evaluate_reading(device(), 20.0, [resolved, foreign], T0) == []


def test_batch_in_array_order_opens_updates_then_resolves():
    dev, active, changes = device(), [], []
    for i, value in enumerate([5.0, 4.0, 3.0, 20.0, 2.0]):
        for t in evaluate_reading(dev, value, active, T0 + timedelta(seconds=i), new_id=ids()):
            changes.append(t.change)
            active = [a for a in active if a.id != t.alert.id]
            if t.alert.status != "resolved":
                active.append(t.alert)
    assert changes == ["opened", "updated", "updated", "resolved", "opened"]
    assert active[0].reading_count == 1 and active[0].first_value == 2.0


def test_evaluate_batch_folds_readings_in_order_and_returns_the_active_alerts_after():
    transitions, active = evaluate_batch(device(), [5.0, 4.0, 3.0, 20.0, 2.0], [], T0, new_id=ids())
    assert [t.change for t in transitions] == ["opened", "updated", "updated", "resolved", "opened"]
    assert [a.id for a in active] == ["alert2"] and active[0].first_value == 2.0
    assert transitions[1].before == transitions[0].alert and transitions[0].before is None
    assert transitions[3].before.reading_count == 3


def test_evaluate_batch_ignores_inactive_and_foreign_alerts_it_is_given():
    resolved = replace(open_alert(), status="resolved")
    foreign = replace(open_alert(), id="f", device_id="other")
    transitions, active = evaluate_batch(device(), [20.0], [resolved, foreign], T0)
    assert transitions == [] and active == []


def test_updates_announce_nothing_opening_and_resolving_announce_themselves():
    transitions, _ = evaluate_batch(device(), [5.0, 4.0, 20.0], [], T0, new_id=ids())
    names = [[e.name for e in alert_events(t.before, t.alert)] for t in transitions]
    assert names == [["alert.opened"], [], ["alert.resolved"]]


def test_escalation_and_acknowledgement_announce_themselves_with_the_owner():
    alert = open_alert()
    escalated = escalate(alert, 300, T0 + timedelta(seconds=300))
    assert [e.name for e in alert_events(alert, escalated)] == ["alert.escalated"]
    acked, _ = acknowledge(escalated, T0 + timedelta(seconds=301))
    (event,) = alert_events(escalated, acked)
    assert event.name == "alert.acknowledged" and event.owner_id == "owner1"
    assert event.alert["status"] == "acknowledged" and "owner_id" not in event.alert


def test_a_removed_or_unchanged_alert_announces_nothing():
    alert = open_alert()
    assert alert_events(alert, None) == [] and alert_events(None, None) == []
    assert alert_events(alert, alert) == []


def test_acknowledge_open_alert_sets_status_and_time():
    later = T0 + timedelta(seconds=5)
    acked, changed = acknowledge(open_alert(), later)
    assert changed and acked.status == "acknowledged"
    assert acked.acknowledged_at == acked.updated_at == later


def test_acknowledge_is_idempotent_on_acknowledged():
    acked, _ = acknowledge(open_alert(), T0)
    again, changed = acknowledge(acked, T0 + timedelta(hours=1))
    assert again is acked and not changed


def test_acknowledge_resolved_alert_is_a_conflict():
    with pytest.raises(Conflict):
        acknowledge(replace(open_alert(), status="resolved"), T0)


def test_transition_is_a_small_value_object():
    t = Transition("opened", open_alert())
    assert t == Transition("opened", t.alert)


def test_a_batch_is_judged_by_the_thresholds_in_force_when_it_was_accepted():
    from homesense_core.alerts import as_accepted

    at_acceptance = device(low=None, high=None)
    current = device(low=0.0, high=50.0, after=7)
    judged = as_accepted(current, at_acceptance)
    assert (judged.low_threshold, judged.high_threshold) == (None, None)
    assert judged.escalation_after_seconds == 7  # everything else as it is now
    transitions, active = evaluate_batch(judged, [-1000.0, 1000.0], [], T0)
    assert transitions == [] and active == []
