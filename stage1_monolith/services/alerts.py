"""Alerts of the caller: list, get, acknowledge."""

from homesense_core.alerts import acknowledge, alert_events
from homesense_core.cursor import ALERTS, keyset_page
from homesense_core.model import Alert, alert_to_json
from homesense_core.problems import owned
from homesense_core.queries import parse_alerts_query

# Stage 1 passes a unit-of-work factory: each use case is one SQLite transaction.
from .common import Clock, Publish, UnitOfWork, UnitOfWorkFactory


def list_alerts(uow: UnitOfWorkFactory, owner_id: str, query: dict) -> dict:
    """One page of the caller's alerts, newest first, filtered by status and device."""
    q = parse_alerts_query(query)
    after = ALERTS.position(q.cursor)
    with uow() as tx:
        rows = tx.alerts.list_for_owner(owner_id, q.status, q.device_id, q.limit + 1, after)
    return keyset_page(rows, q.limit, alert_to_json, ALERTS.of)


def owned_alert(tx: UnitOfWork, owner_id: str, alert_id: str) -> Alert:
    """The caller's alert; NotFound for a missing or foreign one."""
    return owned(tx.alerts.get(alert_id), owner_id, "Alert")


def get_alert(uow: UnitOfWorkFactory, owner_id: str, alert_id: str) -> dict:
    """One of the caller's alerts."""
    with uow() as tx:
        return alert_to_json(owned_alert(tx, owner_id, alert_id))


def acknowledge_alert(uow: UnitOfWorkFactory, owner_id: str, alert_id: str, clock: Clock,
                      publish: Publish) -> dict:
    """Acknowledge (stops escalation); repeats are no-ops, a resolved alert is a Conflict."""
    now = clock()
    with uow(write=True) as tx:
        alert = owned_alert(tx, owner_id, alert_id)
        acked, changed = acknowledge(alert, now)
        if changed:
            tx.alerts.update(acked)
            tx.escalations.cancel(acked.id)
            tx.commit()
    # The hub pushes in-process; stage 3's stream handler pushes what the table changed.
    for event in alert_events(alert, acked):
        publish(event.owner_id, event.push_message(now))
    return alert_to_json(acked)
