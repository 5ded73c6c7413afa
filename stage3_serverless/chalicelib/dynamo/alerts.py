"""Alert items (ALERT#id, read by the state machine too) and per-device active claims."""

from botocore.exceptions import ClientError

from homesense_core.model import ACTIVE_STATUSES

from .. import ports
from . import items as it
from .table import Table, condition_failed

GSI1 = "GSI1"


class DynamoAlerts(ports.AlertRepository):
    """Alerts; DEVICE#id / ACTIVE#kind claim items make "one active per kind" a transaction."""

    def __init__(self, table: Table):
        self.table = table

    def get(self, alert_id):
        item = self.table.get(it.alert_key(alert_id))
        return it.alert_from(item) if item else None

    def _claims(self, device_id):
        return list(self.table.query(
            "PK = :pk AND begins_with(SK, :p)", {":pk": it.device_partition(device_id), ":p": "ACTIVE#"}))

    def _claimed_ids(self, device_id):
        return [c["alert_id"] for c in self._claims(device_id)]

    def _load(self, alert_ids):
        found = self.table.batch_get([it.alert_key(a) for a in alert_ids])
        return [it.alert_from(found[(k["PK"], k["SK"])]) for k in map(it.alert_key, alert_ids)
                if (k["PK"], k["SK"]) in found]

    def active_for_device(self, device_id):
        alerts = [a for a in self._load(self._claimed_ids(device_id)) if a.status in ACTIVE_STATUSES]
        return sorted(alerts, key=lambda a: (a.opened_at, a.id))

    def open(self, alert, escalation_after_seconds):
        claim = {**it.active_claim_key(alert.device_id, alert.kind), "type": "claim", "alert_id": alert.id}
        try:
            self.table.transact([
                {"Put": {"Item": it.serialize(claim), "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"Item": it.serialize(it.alert_item(alert, escalation_after_seconds)),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
            ])
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def save(self, before, after):
        old, new = it.alert_fields(before), it.alert_fields(after)
        changed = {k: v for k, v in new.items() if old[k] != v}
        if not changed:
            return True
        names = {"#status": "status", "#level": "level", **{f"#{k}": k for k in changed}}
        values = {":seen_status": before.status, ":seen_level": before.level,
                  **{f":{k}": v for k, v in changed.items()}}
        update = {"Key": it.serialize(it.alert_key(before.id)),
                  "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in changed),
                  # The state machine and the API race with us: write only on the state we read.
                  "ConditionExpression": "#status = :seen_status AND #level = :seen_level",
                  "ExpressionAttributeNames": names, "ExpressionAttributeValues": it.serialize(values)}
        actions = [{"Update": update}]
        if after.status not in ACTIVE_STATUSES and before.status in ACTIVE_STATUSES:
            actions.append({"Delete": {
                "Key": it.serialize(it.active_claim_key(before.device_id, before.kind)),
                "ConditionExpression": "alert_id = :id",
                "ExpressionAttributeValues": it.serialize({":id": before.id})}})
        try:
            self.table.transact(actions)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def _owner_alert_ids(self, owner_id, before):
        condition, values = "GSI1PK = :pk", {":pk": it.alerts_of_owner(owner_id)}
        if before is not None:
            condition += " AND GSI1SK < :before"
            values[":before"] = it.alert_order_key(*before)
        for item in self.table.query(condition, values, index=GSI1, forward=False, page_size=100):
            yield item["PK"].split("#", 1)[1]

    def list_for_owner(self, owner_id, status, device_id, limit, before):
        # The index gives membership and order; the base table gives the current state.
        found, chunk = [], []
        ids = self._owner_alert_ids(owner_id, before)
        while len(found) < limit:
            chunk = [a for _, a in zip(range(max(limit, 25)), ids)]
            if not chunk:
                break
            for alert in self._load(chunk):
                if (status is None or alert.status == status) and \
                        (device_id is None or alert.device_id == device_id) and alert.owner_id == owner_id:
                    found.append(alert)
        found.sort(key=lambda a: (a.opened_at, a.id), reverse=True)
        return found[:limit]

    def delete_for_device(self, owner_id, device_id):
        claims = self._claims(device_id)
        ids = {c["alert_id"] for c in claims}  # claims are consistent; the index may lag
        ids.update(a.id for a in self._load(list(self._owner_alert_ids(owner_id, None)))
                   if a.device_id == device_id)
        self.table.batch_write(deletes=[it.alert_key(a) for a in sorted(ids)] +
                               [{"PK": c["PK"], "SK": c["SK"]} for c in claims])
        return sorted(ids)

    def set_escalation_after(self, device_id, seconds):
        for alert_id in self._claimed_ids(device_id):
            try:
                self.table.client.update_item(
                    TableName=self.table.name, Key=it.serialize(it.alert_key(alert_id)),
                    UpdateExpression="SET escalation_after_seconds = :s",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues=it.serialize({":s": seconds}))
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
