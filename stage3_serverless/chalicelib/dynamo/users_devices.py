"""Users (with a username claim item) and devices (in their owner's partition)."""

from botocore.exceptions import ClientError

from homesense_core.problems import username_taken

from .. import ports
from . import items as it
from .table import Table, condition_failed


class DynamoUsers(ports.UserRepository):
    """A profile item plus a username item; one transaction keeps usernames unique."""

    def __init__(self, table: Table):
        self.table = table

    def add(self, user):
        body = it.user_item(user)
        try:
            self.table.transact([
                {"Put": {"Item": it.serialize({**it.username_key(user.username), "type": "username", **body}),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"Item": it.serialize({**it.user_key(user.id), "type": "user", **body}),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
            ])
        except ClientError as exc:
            if condition_failed(exc):
                raise username_taken() from exc
            raise

    def get(self, user_id):
        item = self.table.get(it.user_key(user_id))
        return it.user_from(item) if item else None

    def get_by_username(self, username):
        item = self.table.get(it.username_key(username))
        return it.user_from(item) if item else None


class DynamoDevices(ports.DeviceRepository):
    """Device items keyed USER#owner / DEVICE#id: ownership is part of the key."""

    def __init__(self, table: Table):
        self.table = table

    def add(self, device):
        self.table.put(it.device_item(device), "attribute_not_exists(PK)")

    def get(self, owner_id, device_id):
        item = self.table.get(it.device_key(owner_id, device_id))
        return it.device_from(item) if item else None

    def list_for_owner(self, owner_id, limit, after_id):
        # BETWEEN with an inclusive lower bound, then the cursor item itself is skipped.
        low = f"DEVICE#{after_id}" if after_id else "DEVICE#"
        found = []
        for item in self.table.query("PK = :pk AND SK BETWEEN :lo AND :hi",
                                     {":pk": f"USER#{owner_id}", ":lo": low, ":hi": "DEVICE$"},
                                     page_size=limit + 1):
            if item["id"] == after_id:
                continue
            found.append(it.device_from(item))
            if len(found) == limit:
                break
        return found

    def update(self, device):
        fields = it.device_fields(device)
        names = {f"#{k}": k for k in fields}
        try:
            self.table.client.update_item(
                TableName=self.table.name, Key=it.serialize(it.device_key(device.owner_id, device.id)),
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
                ConditionExpression="attribute_exists(PK)", ExpressionAttributeNames=names,
                ExpressionAttributeValues=it.serialize({f":{k}": v for k, v in fields.items()}))
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def delete(self, owner_id, device_id):
        try:
            self.table.client.delete_item(TableName=self.table.name,
                                          Key=it.serialize(it.device_key(owner_id, device_id)),
                                          ConditionExpression="attribute_exists(PK)")
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def reserve_seqs(self, owner_id, device_id, count):
        # An atomic counter on the device item: batches get disjoint, increasing ranges.
        try:
            out = self.table.client.update_item(
                TableName=self.table.name, Key=it.serialize(it.device_key(owner_id, device_id)),
                UpdateExpression="ADD next_seq :n", ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues=it.serialize({":n": count}), ReturnValues="UPDATED_NEW")
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        last = int(it.deserialize(out["Attributes"])["next_seq"])
        return last - count + 1
