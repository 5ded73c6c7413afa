"""Alerts of the caller: list, get, acknowledge."""

from homesense_core.alerts import acknowledge
from homesense_core.cursor import ALERTS, keyset_page
from homesense_core.ids import is_valid_id
from homesense_core.model import alert_to_json
from homesense_core.problems import Conflict, owned
from homesense_core.queries import parse_alerts_query

from ..container import Dependencies

ACK_ATTEMPTS = 5


def list_alerts(deps: Dependencies, owner_id: str, query: dict) -> dict:
    """Newest first, filtered by status and device, keyset paged by (opened_at, id)."""
    q = parse_alerts_query(query)
    rows = deps.alerts.list_for_owner(owner_id, q.status, q.device_id, q.limit + 1,
                                      ALERTS.position(q.cursor))
    return keyset_page(rows, q.limit, alert_to_json, ALERTS.of)


def load(deps: Dependencies, owner_id: str, alert_id: str):
    """The caller's alert; NotFound for a missing or foreign one."""
    alert = deps.alerts.get(alert_id) if is_valid_id(alert_id) else None
    return owned(alert, owner_id, "Alert")


def get_alert(deps: Dependencies, owner_id: str, alert_id: str) -> dict:
    """One alert."""
    return alert_to_json(load(deps, owner_id, alert_id))


def acknowledge_alert(deps: Dependencies, owner_id: str, alert_id: str) -> dict:
    """Acknowledge; repeats are no-ops, a resolved alert is a Conflict."""
    for _ in range(ACK_ATTEMPTS):
        alert = load(deps, owner_id, alert_id)
        acked, changed = acknowledge(alert, deps.clock())
        # A concurrent escalation or evaluation fails the conditional write: read again.
        if not changed or deps.alerts.save(alert, acked):
            return alert_to_json(acked)
    raise Conflict("The alert kept changing; try again.")
