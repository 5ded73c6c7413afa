"""The alert rule: a reading, the device's thresholds and its active alerts give transitions."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Iterable

from . import ids
from .model import ACTIVE_STATUSES, Alert, Device
from .problems import Conflict

EVENT_FOR_CHANGE = {"opened": "alert.opened", "resolved": "alert.resolved"}


@dataclass(frozen=True)
class Transition:
    """One change to store: opened (insert), updated or resolved (update)."""

    change: str
    alert: Alert


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
        return [Transition("resolved", replace(a, status="resolved", resolved_at=now, updated_at=now))
                for a in active]
    for alert in sorted(active, key=lambda a: a.opened_at):
        if alert.kind == kind:
            updated = replace(alert, last_value=value, reading_count=alert.reading_count + 1,
                              updated_at=now)
            return [Transition("updated", updated)]
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
