"""Alerts of the caller: list, get, acknowledge."""

from homesense_core.alerts import acknowledge
from homesense_core.cursor import ALERTS, keyset_page
from homesense_core.ids import is_valid_id
from homesense_core.model import Alert, alert_to_json
from homesense_core.problems import Conflict, owned
from homesense_core.queries import parse_alerts_query

# Stage 3 passes its Dependencies: no transactions, so every write is conditional on what it read.
from ..container import Dependencies

ACK_ATTEMPTS = 5


def list_alerts(deps: Dependencies, owner_id: str, query: dict) -> dict:
    """One page of the caller's alerts, newest first, filtered by status and device."""
    q = parse_alerts_query(query)
    after = ALERTS.position(q.cursor)
    rows = deps.alerts.list_for_owner(owner_id, q.status, q.device_id, q.limit + 1, after)
    return keyset_page(rows, q.limit, alert_to_json, ALERTS.of)


def owned_alert(deps: Dependencies, owner_id: str, alert_id: str) -> Alert:
    """The caller's alert; NotFound for a missing or foreign one."""
    # The table keys alerts by ULID: no other id can name one.
    return owned(deps.alerts.get(alert_id) if is_valid_id(alert_id) else None, owner_id, "Alert")


def get_alert(deps: Dependencies, owner_id: str, alert_id: str) -> dict:
    """One of the caller's alerts."""
    return alert_to_json(owned_alert(deps, owner_id, alert_id))


def acknowledge_alert(deps: Dependencies, owner_id: str, alert_id: str) -> dict:
    """Acknowledge (stops escalation); repeats are no-ops, a resolved alert is a Conflict."""
    for _ in range(ACK_ATTEMPTS):
        now = deps.clock()
        alert = owned_alert(deps, owner_id, alert_id)
        acked, changed = acknowledge(alert, now)
        # A concurrent escalation or evaluation fails the conditional write: read again.
        if not changed or deps.alerts.save(alert, acked):
            return alert_to_json(acked)
    raise Conflict("The alert kept changing; try again.")
