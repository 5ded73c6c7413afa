"""Alerts as the API sees them: list, read, acknowledge."""
from __future__ import annotations

from homesense_core.alerts import acknowledge, alert_events
from homesense_core.cursor import ALERTS, keyset_page
from homesense_core.model import alert_to_json
from homesense_core.problems import owned
from homesense_core.queries import parse_alerts_query

from stage1_monolith.services.common import (
    Clock, Publish, UnitOfWorkFactory)


def list_alerts(uow: UnitOfWorkFactory, owner_id: str, query) -> dict:
    """One page of the caller's alerts, newest first, optionally filtered."""
    q = parse_alerts_query(query)
    after = ALERTS.position(q.cursor)
    with uow() as tx:
        rows = tx.alerts.list_for_owner(owner_id, q.status, q.device_id, q.limit + 1, after)
    return keyset_page(rows, q.limit, alert_to_json, ALERTS.of)


def get_alert(uow: UnitOfWorkFactory, owner_id: str, alert_id: str) -> dict:
    """One of the caller's alerts."""
    with uow() as tx:
        return alert_to_json(owned(tx.alerts.get(alert_id), owner_id, "Alert"))


def acknowledge_alert(uow: UnitOfWorkFactory, owner_id: str, alert_id: str, clock: Clock, publish: Publish) -> dict:
    """Acknowledge (stops escalation); idempotent, 409 on a resolved alert."""
    now = clock()
    with uow(write=True) as tx:
        before = owned(tx.alerts.get(alert_id), owner_id, "Alert")
        alert, changed = acknowledge(before, now)
        if changed:
            tx.alerts.update(alert)
            tx.escalations.cancel(alert.id)
            tx.commit()
    for event in alert_events(before, alert):
        publish(event.owner_id, event.push_message(now))
    return alert_to_json(alert)
