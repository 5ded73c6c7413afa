"""The stream side: evaluate accepted readings, react to alert changes, purge deleted devices."""

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from homesense_core.alerts import evaluate_reading
from homesense_core.events import push_message

from ..aws_clients import unavailable
from ..container import Dependencies
from ..ports import ConnectionGone
from ..streams import AlertChanged, DeviceDeleted, ReadingsAccepted

log = logging.getLogger("homesense." + __name__)

WRITE_ATTEMPTS = 5


def readings_accepted(deps: Dependencies, event: ReadingsAccepted) -> None:
    """Apply the alert rule to each reading in order, writing every transition as it happens."""
    device = deps.devices.get(event.owner_id, event.device_id)
    if device is None or not event.readings:
        return  # deleted since; its alerts went with it
    first_seq = event.readings[0][2]
    if deps.readings.batch_evaluated(device.id, first_seq):
        return  # Lambda retried a stream batch that failed after this event was done
    active = deps.alerts.active_for_device(device.id)
    for value, _recorded_at, _seq in event.readings:
        for _ in range(WRITE_ATTEMPTS):
            if _apply(deps, device, value, active):
                break
            # The API (ack) or the state machine (escalation) got there first: re-read and redo.
            active = deps.alerts.active_for_device(device.id)
        else:
            raise RuntimeError(f"alerts of device {device.id} kept changing")
    deps.readings.mark_evaluated(device.id, first_seq)


def _apply(deps: Dependencies, device, value: float, active: list) -> bool:
    """Write the transitions of one reading; False on a lost race (active is then stale)."""
    for t in evaluate_reading(device, value, active, deps.clock()):
        if t.change == "opened":
            if not deps.alerts.open(t.alert, device.escalation_after_seconds):
                return False
            active.append(t.alert)
            continue
        before = next(a for a in active if a.id == t.alert.id)
        if not deps.alerts.save(before, t.alert):
            return False
        active.remove(before)
        if t.change == "updated":
            active.append(t.alert)
    return True


def alert_changed(deps: Dependencies, event: AlertChanged) -> None:
    """Push the change to the owner's connections and start or stop the escalation workflow."""
    old, new = event.old, event.new
    if new is None:
        if old is not None:
            deps.workflow.stop(old.id)
        return
    pushed = []
    if old is None:
        pushed.append("alert.opened")
        if new.status == "open":
            deps.workflow.start(new.id, event.escalation_after_seconds)
    else:
        if new.level > old.level:
            pushed.append("alert.escalated")
        if new.status != old.status and new.status in ("acknowledged", "resolved"):
            pushed.append(f"alert.{new.status}")
            deps.workflow.stop(new.id)
    for event_type in pushed:
        push(deps, new.owner_id, push_message(event_type, new, deps.clock()))


def push(deps: Dependencies, user_id: str, message: dict) -> None:
    """At-most-once delivery to the connections open now; gone ones are forgotten."""
    data = json.dumps(message).encode("utf-8")
    for connection in deps.connections.for_user(user_id):
        try:
            deps.poster.post(connection, data)
        except ConnectionGone:
            deps.connections.remove(connection.connection_id)
        except Exception:  # one broken connection must not block the stream
            log.exception("push to %s failed", connection.connection_id)


def device_deleted(deps: Dependencies, event: DeviceDeleted) -> None:
    """Purge what the API already hides: readings, pending batches, stray alerts."""
    deps.readings.delete_all(event.device_id)
    deps.alerts.delete_for_device(event.owner_id, event.device_id)


HANDLERS = {ReadingsAccepted: readings_accepted, AlertChanged: alert_changed, DeviceDeleted: device_deleted}


# Devices whose events run side by side within one batch (AWS's ParallelizationFactor does the same
# across batches, also keyed so that one key stays in order). Each event is a few sequential
# DynamoDB / Step Functions / callback round trips; one device after another made a 100-record
# batch take seconds under load and pushes wait behind it.
PARALLEL_DEVICES = 8


def _device_of(event) -> str:
    if isinstance(event, AlertChanged):
        return (event.new or event.old).device_id
    return event.device_id


def _handle_in_order(deps: Dependencies, events: list) -> None:
    for event in events:
        try:
            HANDLERS[type(event)](deps, event)
        except Exception as exc:
            if unavailable(exc):
                raise
            # A poison event would block its shard for a day of retries; log it and go on.
            log.exception("stream event %r dropped", event)


def handle(deps: Dependencies, events: list) -> None:
    """Handle stream events, in order per device; only transient AWS errors fail (and so retry) the batch."""
    by_device: dict[str, list] = {}
    for event in events:
        by_device.setdefault(_device_of(event), []).append(event)
    if len(by_device) <= 1:
        _handle_in_order(deps, events)
        return
    with ThreadPoolExecutor(min(PARALLEL_DEVICES, len(by_device))) as pool:
        futures = [pool.submit(_handle_in_order, deps, group) for group in by_device.values()]
    for future in futures:
        future.result()  # re-raises a transient error once every device is done
