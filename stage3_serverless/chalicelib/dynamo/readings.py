"""Readings keyed DEVICE#id / R#recorded_at#seq, and one BATCH item per accepted batch."""

import json
import time
from datetime import timedelta

from botocore.exceptions import ClientError

from homesense_core.clock import format_ts
from homesense_core.model import Reading

from .. import ports
from . import items as it
from .table import Table, condition_failed

# The batch item only has to live until the stream handler has seen it.
BATCH_EVENT_TTL = timedelta(days=1)


def _bounds(from_, to, descending, after):
    """Inclusive BETWEEN bounds; a cursor position narrows one side and is skipped when met."""
    low = f"R#{format_ts(from_)}" if from_ else "R#"
    # "R#<to>" sorts before every "R#<to>#seq", so `to` stays exclusive.
    high = f"R#{format_ts(to)}" if to else "R$"
    skip = None
    if after is not None:
        skip = it.reading_sk(*after)
        if descending:
            high = min(high, skip)
        else:
            low = max(low, skip)
    return low, high, skip


class DynamoReadings(ports.ReadingRepository):
    """Readings in the device partition; range, order and keyset paging are key conditions."""

    def __init__(self, table: Table):
        self.table = table

    def add(self, event):
        # Readings first, the batch event last: the evaluator only reads what is durable.
        device = event.device
        self.table.batch_write(puts=[it.reading_item(Reading(device.id, r.value, r.recorded_at, r.seq))
                                     for r in event.readings])
        # The stream carries the item's "event" to the handler: the integration event, as JSON.
        self.table.put({
            **it.batch_key(device.id, event.first_seq), "type": "batch",
            "device_id": device.id, "owner_id": device.owner_id, "first_seq": event.first_seq,
            "event": json.dumps(event.to_json()),
            "expires_at": int(time.time() + BATCH_EVENT_TTL.total_seconds()),
        })

    def _query(self, device_id, from_, to, descending, after, page_size=None):
        low, high, skip = _bounds(from_, to, descending, after)
        if low > high:
            return
        for item in self.table.query("PK = :pk AND SK BETWEEN :lo AND :hi",
                                     {":pk": it.device_partition(device_id), ":lo": low, ":hi": high},
                                     forward=not descending, page_size=page_size):
            if item["SK"] != skip:
                yield it.reading_from(device_id, item)

    def page(self, device_id, from_, to, descending, limit, after):
        found = []
        for reading in self._query(device_id, from_, to, descending, after, page_size=limit + 1):
            found.append(reading)
            if len(found) == limit:
                break
        return found

    def scan(self, device_id, from_, to):
        return self._query(device_id, from_, to, False, None)

    def delete_all(self, device_id):
        pk = it.device_partition(device_id)
        for prefix in ("R#", "BATCH#"):
            keys = [{"PK": i["PK"], "SK": i["SK"]} for i in self.table.query(
                "PK = :pk AND begins_with(SK, :p)", {":pk": pk, ":p": prefix})]
            self.table.batch_write(deletes=keys)

    def batch_evaluated(self, device_id, first_seq):
        item = self.table.get(it.batch_key(device_id, first_seq))
        return bool(item and item.get("evaluated"))

    def mark_evaluated(self, device_id, first_seq):
        # A MODIFY of the batch item, which the stream handler ignores (it only reacts to INSERT).
        try:
            self.table.client.update_item(
                TableName=self.table.name, Key=it.serialize(it.batch_key(device_id, first_seq)),
                UpdateExpression="SET evaluated = :t", ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues=it.serialize({":t": True}))
        except ClientError as exc:
            if not condition_failed(exc):  # purged with its device, or expired: nothing to mark
                raise
