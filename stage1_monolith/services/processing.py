"""Background use cases: drain one outbox event, escalate due alerts."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from homesense_core.alerts import EVENT_FOR_CHANGE, evaluate_reading
from homesense_core.escalation import escalate, escalation_due_at
from homesense_core.events import push_message

from stage1_monolith.services.common import Clock, UnitOfWorkFactory
from stage1_monolith.services.devices import DEVICE_EVENT_PREFIX
from stage1_monolith.services.readings import READINGS_ACCEPTED

log = logging.getLogger(__name__)

Push = tuple[str, dict]  # (owner user id, message), sent only after the commit


Relay = Callable[[str, dict, str], None]  # (event type, payload, message id): the migration relay


def process_next_event(uow: UnitOfWorkFactory, clock: Clock, relay: Relay | None = None) -> tuple[bool, list[Push]]:
    """Handle the oldest pending outbox event; (found one, pushes to send after commit)."""
    with uow(write=True) as tx:
        message = tx.outbox.next_pending()
        if message is None:
            return False, []
        now = clock()
        pushes: list[Push] = []
        if message.topic == READINGS_ACCEPTED:
            pushes = _evaluate_batch(tx, message.payload, now)
        elif message.topic.startswith(DEVICE_EVENT_PREFIX):
            # Only written while the relay runs; published before the row is marked done.
            if relay is not None:
                relay(message.topic, message.payload, f"stage1-outbox-{message.id}")
        else:
            log.warning("skipping outbox message %s with unknown topic %r", message.id, message.topic)
        # Marked done in the same transaction as the alert changes: exactly-once effects.
        tx.outbox.mark_done(message.id, now)
        tx.commit()
    return True, pushes


def skip_event(uow: UnitOfWorkFactory, clock: Clock) -> int | None:
    """Mark the oldest pending event done without handling it (a poison message); its id."""
    with uow(write=True) as tx:
        message = tx.outbox.next_pending()
        if message is None:
            return None
        tx.outbox.mark_done(message.id, clock())
        tx.commit()
        return message.id


def _evaluate_batch(tx, payload: dict, now) -> list[Push]:
    device = tx.devices.get(payload["device_id"])
    if device is None:  # deleted since the readings were accepted
        return []
    active = tx.alerts.active_for_device(device.id)
    pushes: list[Push] = []
    for reading in payload["readings"]:
        for transition in evaluate_reading(device, reading["value"], active, now):
            alert = transition.alert
            if transition.change == "opened":
                tx.alerts.add(alert)
                active.append(alert)
                tx.escalations.schedule(alert.id, device.id, escalation_due_at(alert, device.escalation_after_seconds))
            else:
                tx.alerts.update(alert)
                active = [alert if a.id == alert.id else a for a in active]
                if transition.change == "resolved":
                    active = [a for a in active if a.id != alert.id]
                    tx.escalations.cancel(alert.id)
            if transition.change in EVENT_FOR_CHANGE:
                pushes.append((alert.owner_id, push_message(EVENT_FOR_CHANGE[transition.change], alert, now)))
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
                pushes.append((alert.owner_id, push_message("alert.escalated", escalated, now)))
                alert = escalated
            due = escalation_due_at(alert, after)
            if due is None:
                tx.escalations.cancel(alert.id)
            else:
                tx.escalations.schedule(alert.id, device.id, due)
        tx.commit()
    return pushes
