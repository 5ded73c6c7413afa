"""Alert fixtures shared by the core's alert, escalation and push-event tests."""

import itertools
from datetime import datetime

from homesense_core.alerts import evaluate_reading
from homesense_core.clock import UTC
from homesense_core.model import Device

T0 = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)


def device(low=10.0, high=30.0, after=300):
    return Device(id="dev1", owner_id="owner1", name="Hall", room="", kind="temperature", unit="C",
                  low_threshold=low, high_threshold=high, escalation_after_seconds=after,
                  created_at=T0, updated_at=T0)


def ids():
    counter = itertools.count(1)
    return lambda: f"alert{next(counter)}"


def only(transitions):
    assert len(transitions) == 1
    return transitions[0]


def open_alert(kind="low", value=5.0, now=T0, dev=None):
    return only(evaluate_reading(dev or device(), value, [], now, new_id=ids())).alert
