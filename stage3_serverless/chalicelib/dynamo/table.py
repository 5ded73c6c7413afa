"""A lazily connected DynamoDB table with the few batch and query helpers the adapters share."""

import time
from typing import Iterator

from botocore.exceptions import ClientError

from ..aws_clients import AwsClients
from .items import deserialize, serialize

BATCH_WRITE_MAX, BATCH_GET_MAX = 25, 100


def condition_failed(exc: ClientError) -> bool:
    """True for a failed condition, alone or inside a cancelled transaction."""
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons") or []
        if reasons:
            return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
        return "ConditionalCheckFailed" in str(exc)
    return False


class Table:
    """One DynamoDB table addressed by name; the client is created on first use."""

    def __init__(self, clients: AwsClients, name: str):
        self._clients, self.name = clients, name

    @property
    def client(self):
        return self._clients.get("dynamodb")

    def get(self, key: dict) -> dict | None:
        """Strongly consistent GetItem, deserialized."""
        out = self.client.get_item(TableName=self.name, Key=serialize(key), ConsistentRead=True)
        return deserialize(out["Item"]) if "Item" in out else None

    def put(self, item: dict, condition: str | None = None, values: dict | None = None,
            names: dict | None = None) -> None:
        """PutItem, optionally conditional (ClientError when the condition fails)."""
        kwargs = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        self.client.put_item(**kwargs)

    def transact(self, actions: list[dict]) -> None:
        """TransactWriteItems; every action names this table."""
        for action in actions:
            next(iter(action.values()))["TableName"] = self.name
        self.client.transact_write_items(TransactItems=actions)

    def query(self, key_condition: str, values: dict, *, index: str | None = None,
              forward: bool = True, page_size: int | None = None, consistent: bool = True,
              names: dict | None = None) -> Iterator[dict]:
        """Every item matching, page by page, in key order."""
        kwargs = {"TableName": self.name, "KeyConditionExpression": key_condition,
                  "ExpressionAttributeValues": serialize(values), "ScanIndexForward": forward}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if index:
            kwargs["IndexName"] = index  # GSIs cannot be read consistently
        else:
            kwargs["ConsistentRead"] = consistent
        if page_size:
            kwargs["Limit"] = page_size
        while True:
            out = self.client.query(**kwargs)
            for item in out.get("Items", []):
                yield deserialize(item)
            if "LastEvaluatedKey" not in out:
                return
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def batch_get(self, keys: list[dict]) -> dict[tuple[str, str], dict]:
        """Strongly consistent BatchGetItem; items by (PK, SK)."""
        found: dict[tuple[str, str], dict] = {}
        for start in range(0, len(keys), BATCH_GET_MAX):
            request = {self.name: {"Keys": [serialize(k) for k in keys[start:start + BATCH_GET_MAX]],
                                   "ConsistentRead": True}}
            for attempt in range(8):
                out = self.client.batch_get_item(RequestItems=request)
                for raw in out.get("Responses", {}).get(self.name, []):
                    item = deserialize(raw)
                    found[(item["PK"], item["SK"])] = item
                request = out.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05 * 2 ** attempt)
            else:
                raise RuntimeError("BatchGetItem left keys unprocessed")
        return found

    def batch_write(self, puts: list[dict] = (), deletes: list[dict] = ()) -> None:
        """BatchWriteItem in chunks of 25, retrying unprocessed items with backoff."""
        requests = [{"PutRequest": {"Item": serialize(i)}} for i in puts]
        requests += [{"DeleteRequest": {"Key": serialize(k)}} for k in deletes]
        for start in range(0, len(requests), BATCH_WRITE_MAX):
            pending = {self.name: requests[start:start + BATCH_WRITE_MAX]}
            for attempt in range(8):
                out = self.client.batch_write_item(RequestItems=pending)
                pending = out.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(0.05 * 2 ** attempt)
            else:
                raise RuntimeError("BatchWriteItem left items unprocessed")
