"""The alert rule: a reading, the device's thresholds and its active alerts give transitions."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Iterable

from . import ids
from .integration_events import AlertChanged
from .model import ACTIVE_STATUSES, Alert, Device
from .problems import Conflict


@dataclass(frozen=True)
class Transition:
    """One change to store: opened (insert), updated or resolved (update); before is None when opened."""

    change: str
    alert: Alert
    before: Alert | None = None


def out_of_range_kind(device: Device, value: float) -> str | None:
    """"low", "high", or None when the value is inside (a value equal to a threshold is inside)."""
    if device.low_threshold is not None and value < device.low_threshold:
        return "low"
    if device.high_threshold is not None and value > device.high_threshold:
        return "high"
    return None


def evaluate_reading(device: Device, value: float, active: Iterable[Alert], now: datetime,
                     new_id: Callable[[], str] = ids.new_id) -> list[Transition]:
    """Transitions caused by one reading, given the device's active alerts."""
    active = [a for a in active if a.status in ACTIVE_STATUSES and a.device_id == device.id]
    kind = out_of_range_kind(device, value)
    if kind is None:
        return [Transition("resolved", replace(a, status="resolved", resolved_at=now, updated_at=now), a)
                for a in active]
    for alert in sorted(active, key=lambda a: a.opened_at):
        if alert.kind == kind:
            updated = replace(alert, last_value=value, reading_count=alert.reading_count + 1,
                              updated_at=now)
            return [Transition("updated", updated, alert)]
    threshold = device.low_threshold if kind == "low" else device.high_threshold
    opened = Alert(id=new_id(), device_id=device.id, owner_id=device.owner_id, kind=kind,
                   status="open", level=1, threshold=threshold, first_value=value,
                   last_value=value, reading_count=1, opened_at=now, acknowledged_at=None,
                   resolved_at=None, escalated_at=None, updated_at=now)
    return [Transition("opened", opened)]


def acknowledge(alert: Alert, now: datetime) -> tuple[Alert, bool]:
    """(acknowledged alert, changed); idempotent when acknowledged, Conflict when resolved."""
    if alert.status == "resolved":
        raise Conflict("A resolved alert cannot be acknowledged.")
    if alert.status == "acknowledged":
        return alert, False
    return replace(alert, status="acknowledged", acknowledged_at=now, updated_at=now), True


def as_accepted(current: Device, at_acceptance: Device) -> Device:
    """The device a batch is judged by: its thresholds as they were when the batch was accepted
    (the snapshot the ReadingsAccepted event carries), everything else as it is now.

    Evaluation is asynchronous, so a PATCH can land between the 202 and the evaluation; judging by
    the thresholds in force at acceptance makes the outcome independent of that race (and of how
    far behind the outbox, NATS consumer or stream is), the same in every stage."""
    return replace(current, low_threshold=at_acceptance.low_threshold,
                   high_threshold=at_acceptance.high_threshold)


def evaluate_batch(device: Device, values: Iterable[float], active: Iterable[Alert], now: datetime,
                   new_id: Callable[[], str] = ids.new_id) -> tuple[list[Transition], list[Alert]]:
    """The rule folded over readings in order: (every transition, the active alerts after)."""
    active = [a for a in active if a.status in ACTIVE_STATUSES and a.device_id == device.id]
    transitions: list[Transition] = []
    for value in values:
        for t in evaluate_reading(device, value, active, now, new_id):
            transitions.append(t)
            if t.change == "opened":
                active.append(t.alert)
            elif t.change == "updated":
                active = [t.alert if a.id == t.alert.id else a for a in active]
            else:
                active = [a for a in active if a.id != t.alert.id]
    return transitions, active


def alert_events(before: Alert | None, after: Alert | None) -> list[AlertChanged]:
    """The events an alert's change announces (and pushes): opened, escalated, acknowledged, resolved.

    Every stage derives its events here, whether it knows the transition (stages 1 and 2) or
    only sees the stored item before and after (stage 3's stream).
    """
    if after is None:
        return []
    if before is None:
        return [AlertChanged.of("opened", after)]
    events = []
    if after.level > before.level:
        events.append(AlertChanged.of("escalated", after))
    if after.status != before.status and after.status in ("acknowledged", "resolved"):
        events.append(AlertChanged.of(after.status, after))
    return events
