"""homesense_core.throttle records in the table: one item per key, written with optimistic
concurrency (a version attribute and a conditional put), since Lambdas share no memory."""

from botocore.exceptions import ClientError

from homesense_core.throttle import Record, ThrottleStore, Update

from .table import Table, condition_failed

_ATTEMPTS = 8


class DynamoThrottleStore(ThrottleStore):
    """PK THROTTLE#<key>, SK THROTTLE; items expire (TTL attribute) a day after their last event."""

    def __init__(self, table: Table):
        self.table = table

    @staticmethod
    def _key(key: str) -> dict:
        return {"PK": f"THROTTLE#{key}", "SK": "THROTTLE"}

    def _read(self, key: str) -> tuple[Record | None, int]:
        item = self.table.get(self._key(key))
        if item is None:
            return None, 0
        return Record(int(item["failures"]), float(item["last_at"]), float(item["locked_until"])), int(item["version"])

    def get(self, key):
        return self._read(key)[0]

    def update(self, key, change: Update, now):
        for _ in range(_ATTEMPTS):
            current, version = self._read(key)
            new = change(current)
            item = {**self._key(key), "failures": new.failures, "last_at": str(new.last_at),
                    "locked_until": str(new.locked_until), "version": version + 1,
                    "expires_at": int(now) + 86400}
            try:
                if version:
                    self.table.put(item, "#v = :v", {":v": version}, {"#v": "version"})
                else:
                    self.table.put(item, "attribute_not_exists(PK)")
                return new
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
        raise RuntimeError(f"throttle record {key!r} kept changing under us")
