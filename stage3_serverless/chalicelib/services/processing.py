"""The stream side: evaluate accepted readings, react to alert changes, purge deleted devices."""

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from homesense_core.alerts import alert_events, as_accepted, evaluate_batch
from homesense_core.integration_events import DeviceChanged, ReadingsAccepted

from .. import logs
from ..aws_clients import unavailable
from ..container import Dependencies
from ..ports import ConnectionGone
from ..streams import AlertItemChanged

log = logging.getLogger("homesense." + __name__)

WRITE_ATTEMPTS = 5


def readings_accepted(deps: Dependencies, event: ReadingsAccepted) -> None:
    """Apply the alert rule to each reading in order, writing every transition as it happens."""
    current = deps.devices.get(event.device.owner_id, event.device.id)
    if current is None or not event.readings:
        return  # deleted since; its alerts went with it
    device = as_accepted(current, event.device)
    if deps.readings.batch_evaluated(device.id, event.first_seq):
        return  # Lambda retried a stream batch that failed after this event was done
    active = deps.alerts.active_for_device(device.id)
    for reading in event.readings:
        for _ in range(WRITE_ATTEMPTS):
            # One reading at a time: a conditional write lost to a race redoes only that reading.
            transitions, after = evaluate_batch(device, [reading.value], active, deps.clock())
            if _write(deps, device, transitions):
                active = after
                break
            # The API (ack) or the state machine (escalation) got there first: re-read and redo.
            active = deps.alerts.active_for_device(device.id)
        else:
            raise RuntimeError(f"alerts of device {device.id} kept changing")
    deps.readings.mark_evaluated(device.id, event.first_seq)


def _write(deps: Dependencies, device, transitions) -> bool:
    """Conditionally write each transition; False on a lost race (the active alerts are stale)."""
    for t in transitions:
        if t.change == "opened":
            if not deps.alerts.open(t.alert, device.escalation_after_seconds):
                return False
        elif not deps.alerts.save(t.before, t.alert):
            return False
    return True


def alert_changed(deps: Dependencies, change: AlertItemChanged) -> None:
    """Push the change to the owner's connections and start or stop the escalation workflow."""
    old, new = change.old, change.new
    if new is None:
        if old is not None:
            deps.workflow.stop(old.id)
        return
    events = alert_events(old, new)
    for event in events:
        if event.change == "opened" and new.status == "open":
            deps.workflow.start(new.id, change.escalation_after_seconds)
        elif event.change in ("acknowledged", "resolved"):
            deps.workflow.stop(new.id)
    now = deps.clock()
    for event in events:
        push(deps, event.owner_id, event.push_message(now))


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


def device_changed(deps: Dependencies, event: DeviceChanged) -> None:
    """On deletion, purge what the API already hides: readings, pending batches, stray alerts."""
    if event.change == "deleted":
        deps.readings.delete_all(event.device.id)
        deps.alerts.delete_for_device(event.device.owner_id, event.device.id)


HANDLERS = {ReadingsAccepted: readings_accepted, AlertItemChanged: alert_changed, DeviceChanged: device_changed}


# Devices whose events run side by side within one batch (AWS's ParallelizationFactor does the same
# across batches, also keyed so that one key stays in order). Each event is a few sequential
# DynamoDB / Step Functions / callback round trips; one device after another made a 100-record
# batch take seconds under load and pushes wait behind it.
PARALLEL_DEVICES = 8


def _device_of(event) -> str:
    """The device an event is about: one device's events run in order, other devices' alongside."""
    if isinstance(event, AlertItemChanged):
        return (event.new or event.old).device_id
    return event.device.id


def _handle_in_order(deps: Dependencies, events: list) -> None:
    for event in events:
        # Handled under the id of the request that caused it: one reading can be followed
        # through the logs from the POST to the push.
        token = logs.request_id.set(getattr(event, "request_id", None))
        try:
            if logs.request_id.get():
                logs.record(request_id=logs.request_id.get(), event=event.name)
            HANDLERS[type(event)](deps, event)
        except Exception as exc:
            if unavailable(exc):
                raise
            # A poison event would block its shard for a day of retries; log it and go on.
            log.exception("stream event %r dropped", event)
        finally:
            logs.request_id.reset(token)


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
