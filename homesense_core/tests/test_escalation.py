from dataclasses import replace
from datetime import timedelta

import pytest

from homesense_core.escalation import MAX_LEVEL, escalate, escalation_due_at
from homesense_core.tests.alert_support import T0, open_alert


def test_escalation_is_due_after_the_period_from_opening():
    assert escalation_due_at(open_alert(), 300) == T0 + timedelta(seconds=300)


def test_escalate_waits_until_due_then_raises_level():
    alert = open_alert()
    assert escalate(alert, 300, T0 + timedelta(seconds=299, milliseconds=999)) is None
    due = T0 + timedelta(seconds=300)
    up = escalate(alert, 300, due)
    assert up == replace(alert, level=2, escalated_at=due, updated_at=due)


def test_escalation_climbs_to_level_three_and_stops():
    alert, now, levels = open_alert(), T0, []
    for _ in range(5):
        now += timedelta(seconds=60)
        nxt = escalate(alert, 60, now)
        if nxt is None:
            break
        levels.append(nxt.level)
        assert escalation_due_at(nxt, 60) in (now + timedelta(seconds=60), None)
        alert = nxt
    assert levels == [2, 3] and alert.level == MAX_LEVEL == 3
    assert escalation_due_at(alert, 60) is None
    assert escalate(alert, 60, now + timedelta(days=1)) is None


def test_next_escalation_counts_from_the_last_escalation():
    up = escalate(open_alert(), 100, T0 + timedelta(seconds=150))
    assert escalation_due_at(up, 100) == T0 + timedelta(seconds=250)
    assert escalate(up, 100, T0 + timedelta(seconds=249)) is None
    assert escalate(up, 100, T0 + timedelta(seconds=250)).level == 3


def test_escalation_uses_the_current_period_passed_in():
    alert = open_alert()
    assert escalate(alert, 600, T0 + timedelta(seconds=300)) is None
    assert escalate(alert, 60, T0 + timedelta(seconds=300)).level == 2


@pytest.mark.parametrize("status", ["acknowledged", "resolved"])
def test_acknowledged_or_resolved_alerts_never_escalate(status):
    alert = replace(open_alert(), status=status)
    assert escalation_due_at(alert, 1) is None
    assert escalate(alert, 1, T0 + timedelta(days=1)) is None
