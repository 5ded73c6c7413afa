"""Background use cases: drain the outbox, escalate due alerts."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from homesense_core.alerts import alert_events, as_accepted, evaluate_batch
from homesense_core.escalation import escalate, escalation_due_at
from homesense_core.integration_events import DeviceChanged, ReadingsAccepted, UnknownEvent, decode

from stage1_monolith.services.common import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

Push = tuple[str, dict]  # (owner user id, message), sent only after the commit


Relay = Callable[[str, dict, str], None]  # (event type, payload, message id): the migration relay


def process_pending_events(uow: UnitOfWorkFactory, clock: Clock, relay: Relay | None = None,
                           limit: int = 1) -> tuple[int, list[Push]]:
    """Handle up to `limit` pending outbox events, oldest first, in ONE write transaction;
    (how many, pushes to send after commit).

    SQLite has one writer: a worker that took the write lock once per event queued behind every
    request's write under load, and pushes fell seconds behind. A batch pays for the lock once.
    """
    handled, pushes = 0, []
    with uow(write=True) as tx:
        now = clock()
        while handled < limit:
            message = tx.outbox.next_pending()
            if message is None:
                break
            pushes += _handle(tx, message, now, relay)
            # Marked done in the same transaction as the alert changes: exactly-once effects.
            tx.outbox.mark_done(message.id, now)
            handled += 1
        if handled:
            tx.commit()
    return handled, pushes


def process_next_event(uow: UnitOfWorkFactory, clock: Clock, relay: Relay | None = None) -> tuple[bool, list[Push]]:
    """Handle the oldest pending outbox event; (found one, pushes to send after commit)."""
    handled, pushes = process_pending_events(uow, clock, relay, limit=1)
    return handled == 1, pushes


def _handle(tx, message, now, relay: Relay | None) -> list[Push]:
    try:
        event = decode(message.topic, message.payload)
    except UnknownEvent as exc:
        log.warning("skipping outbox message %s: %s", message.id, exc)
        return []
    if isinstance(event, ReadingsAccepted):
        pushes = _apply_readings(tx, event, now)
        # Under the request id the event carries: one reading can be followed POST to push.
        log.info("%s: %d readings, %d pushes", event.name, len(event.readings), len(pushes),
                 extra={"request_id": event.request_id})
        return pushes
    if isinstance(event, DeviceChanged) and relay is not None:
        # Only written while the migration relay runs; published before the row is marked done
        # (a rolled-back batch publishes again under the same message id, which NATS de-duplicates).
        relay(message.topic, message.payload, f"stage1-outbox-{message.id}")
    return []


def skip_event(uow: UnitOfWorkFactory, clock: Clock) -> int | None:
    """Mark the oldest pending event done without handling it (a poison message); its id."""
    with uow(write=True) as tx:
        message = tx.outbox.next_pending()
        if message is None:
            return None
        tx.outbox.mark_done(message.id, clock())
        tx.commit()
        return message.id


def _pushes(events, now) -> list[Push]:
    return [(e.owner_id, e.push_message(now)) for e in events]


def _apply_readings(tx, event: ReadingsAccepted, now) -> list[Push]:
    """Store the transitions of the alert rule folded over the batch, in one transaction."""
    current = tx.devices.get(event.device.id)
    if current is None:  # deleted since the readings were accepted
        return []
    device = as_accepted(current, event.device)
    transitions, _ = evaluate_batch(device, [r.value for r in event.readings],
                                    tx.alerts.active_for_device(device.id), now)
    pushes: list[Push] = []
    for t in transitions:
        if t.change == "opened":
            tx.alerts.add(t.alert)
            tx.escalations.schedule(t.alert.id, device.id, escalation_due_at(t.alert, device.escalation_after_seconds))
        else:
            tx.alerts.update(t.alert)
            if t.change == "resolved":
                tx.escalations.cancel(t.alert.id)
        pushes += _pushes(alert_events(t.before, t.alert), now)
    return pushes


def prune(uow: UnitOfWorkFactory, clock: Clock, keep: timedelta = timedelta(days=1)) -> tuple[int, int]:
    """Forget handled outbox events and expired idempotency records; (events, records) removed."""
    with uow(write=True) as tx:
        cutoff = clock() - keep
        removed = tx.outbox.prune_done(cutoff), tx.idempotency.prune(cutoff)
        tx.commit()
    return removed


def escalate_due(uow: UnitOfWorkFactory, clock: Clock, batch: int = 100) -> list[Push]:
    """Escalate every alert whose check is due; reschedule or drop each row."""
    pushes: list[Push] = []
    with uow(write=True) as tx:
        now = clock()
        for row in tx.escalations.due(now, batch):
            alert = tx.alerts.get(row.alert_id)
            device = tx.devices.get(row.device_id)
            if alert is None or device is None:
                tx.escalations.cancel(row.alert_id)
                continue
            after = device.escalation_after_seconds
            escalated = escalate(alert, after, now)
            if escalated is not None:
                tx.alerts.update(escalated)
                pushes += _pushes(alert_events(alert, escalated), now)
                alert = escalated
            due = escalation_due_at(alert, after)
            if due is None:
                tx.escalations.cancel(alert.id)
            else:
                tx.escalations.schedule(alert.id, device.id, due)
        tx.commit()
    return pushes
