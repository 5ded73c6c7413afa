"""Short-lived items: Idempotency-Key records and WebSocket connections, both with a TTL."""

import json
from datetime import timedelta

from botocore.exceptions import ClientError

from homesense_core.http import Result
from homesense_core.idempotency import IDEMPOTENCY_TTL_SECONDS

from .. import ports
from . import items as it
from .table import Table, condition_failed

# API Gateway closes WebSocket connections after 2 h; the TTL only sweeps up missed disconnects.
CONNECTION_TTL = timedelta(hours=3)


def _idem_key(user_id: str, key: str) -> dict:
    return {"PK": f"IDEM#{user_id}#{key}", "SK": "IDEM"}


class DynamoIdempotency(ports.IdempotencyStore):
    """One item per (user, key); expires_at is both the TTL and the liveness check."""

    def __init__(self, table: Table):
        self.table = table

    def claim(self, user_id, key, fingerprint, now):
        epoch = int(now.timestamp())
        item = {**_idem_key(user_id, key), "type": "idempotency", "fingerprint": fingerprint,
                "expires_at": epoch + IDEMPOTENCY_TTL_SECONDS, "pending_until": epoch + ports.PENDING_SECONDS}
        for _ in range(3):
            try:
                # TTL deletes lazily, so an expired record counts as free; so does a claim whose
                # request died (Lambda timeout) without completing or releasing it.
                self.table.put(item, "attribute_not_exists(PK) OR expires_at <= :now OR "
                               "(attribute_not_exists(#status) AND pending_until <= :now)",
                               {":now": epoch}, {"#status": "status"})
                return None
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
            held = self.table.get(_idem_key(user_id, key))
            if held is not None:
                response = None
                if "status" in held:
                    response = Result(int(held["status"]), json.loads(held["body"]), held.get("location"))
                return ports.IdempotencyRecord(held["fingerprint"], response)
        raise RuntimeError("could not claim the idempotency key")

    def complete(self, user_id, key, response):
        self.table.client.update_item(
            TableName=self.table.name, Key=it.serialize(_idem_key(user_id, key)),
            UpdateExpression="SET #s = :s, body = :b, #l = :l",
            ExpressionAttributeNames={"#s": "status", "#l": "location"},
            ExpressionAttributeValues=it.serialize({":s": response.status, ":b": json.dumps(response.body),
                                                    ":l": response.location}))

    def release(self, user_id, key):
        self.table.client.delete_item(TableName=self.table.name, Key=it.serialize(_idem_key(user_id, key)))


class DynamoConnections(ports.ConnectionRepository):
    """WS#id for the disconnect lookup, USER#id / WS#id for the fan-out query."""

    def __init__(self, table: Table):
        self.table = table

    def add(self, connection, now):
        body = {"type": "connection", "connection_id": connection.connection_id,
                "user_id": connection.user_id, "endpoint": connection.endpoint,
                "expires_at": int((now + CONNECTION_TTL).timestamp())}
        self.table.transact([
            {"Put": {"Item": it.serialize({"PK": f"WS#{connection.connection_id}", "SK": "WS", **body})}},
            {"Put": {"Item": it.serialize({"PK": f"USER#{connection.user_id}",
                                           "SK": f"WS#{connection.connection_id}", **body})}},
        ])

    def remove(self, connection_id):
        item = self.table.get({"PK": f"WS#{connection_id}", "SK": "WS"})
        keys = [{"PK": f"WS#{connection_id}", "SK": "WS"}]
        if item is not None:
            keys.append({"PK": f"USER#{item['user_id']}", "SK": f"WS#{connection_id}"})
        self.table.batch_write(deletes=keys)

    def for_user(self, user_id):
        return [ports.Connection(i["connection_id"], i["user_id"], i["endpoint"])
                for i in self.table.query("PK = :pk AND begins_with(SK, :p)",
                                          {":pk": f"USER#{user_id}", ":p": "WS#"})]
