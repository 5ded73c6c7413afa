"""Key builders and the mapping between domain objects and table items."""

from datetime import datetime

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from homesense_core.clock import UTC, format_ts, parse_ts, truncate_ms
from homesense_core.model import Alert, Device, Reading, User

_SER, _DESER = TypeSerializer(), TypeDeserializer()

# Sequence numbers are zero-padded so that string order is numeric order.
SEQ_DIGITS = 12


def user_key(user_id: str) -> dict:
    return {"PK": f"USER#{user_id}", "SK": "PROFILE"}


def username_key(username: str) -> dict:
    return {"PK": f"USERNAME#{username}", "SK": "USERNAME"}


def device_key(owner_id: str, device_id: str) -> dict:
    return {"PK": f"USER#{owner_id}", "SK": f"DEVICE#{device_id}"}


def device_partition(device_id: str) -> str:
    return f"DEVICE#{device_id}"


def reading_sk(recorded_at: datetime, seq: int) -> str:
    return f"R#{format_ts(recorded_at)}#{seq:0{SEQ_DIGITS}d}"


def batch_key(device_id: str, first_seq: int) -> dict:
    return {"PK": device_partition(device_id), "SK": f"BATCH#{first_seq:0{SEQ_DIGITS}d}"}


def active_claim_key(device_id: str, kind: str) -> dict:
    return {"PK": device_partition(device_id), "SK": f"ACTIVE#{kind}"}


def alert_key(alert_id: str) -> dict:
    return {"PK": f"ALERT#{alert_id}", "SK": "ALERT"}


def alerts_of_owner(owner_id: str) -> str:
    return f"USER#{owner_id}#ALERTS"


def alert_order_key(opened_at: datetime, alert_id: str) -> str:
    return f"{format_ts(opened_at)}#{alert_id}"


def serialize(item: dict) -> dict:
    """Plain Python values to DynamoDB attribute values."""
    return {k: _SER.serialize(v) for k, v in item.items()}


def deserialize(attrs: dict) -> dict:
    """DynamoDB attribute values (as in responses and stream images) to plain Python values."""
    return {k: _DESER.deserialize(v) for k, v in attrs.items()}


def num(value: float | None) -> str | None:
    """Floats are stored as their repr: exact, and free of DynamoDB's narrower number range."""
    return None if value is None else repr(float(value))


def unnum(value) -> float | None:
    return None if value is None else float(value)


def ts(value: datetime | None) -> str | None:
    return None if value is None else format_ts(value)


def unts(value) -> datetime | None:
    """Parse a stored timestamp; tolerant of what other writers (the state machine) produce."""
    if value is None:
        return None
    try:
        return parse_ts(value)
    except ValueError:
        # $$.State.EnteredTime may lack a zone on some emulators: it is UTC by definition.
        parsed = datetime.fromisoformat(value)
        return truncate_ms(parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC))


def user_item(user: User) -> dict:
    return {"id": user.id, "username": user.username, "password_hash": user.password_hash,
            "created_at": ts(user.created_at)}


def user_from(item: dict) -> User:
    return User(item["id"], item["username"], item["password_hash"], unts(item["created_at"]))


def device_fields(device: Device) -> dict:
    """The editable attributes of a device item."""
    return {"name": device.name, "room": device.room, "kind": device.kind, "unit": device.unit,
            "low_threshold": num(device.low_threshold), "high_threshold": num(device.high_threshold),
            "escalation_after_seconds": device.escalation_after_seconds,
            "updated_at": ts(device.updated_at)}


def device_item(device: Device) -> dict:
    return {**device_key(device.owner_id, device.id), "type": "device", "id": device.id,
            "owner_id": device.owner_id, "created_at": ts(device.created_at), "next_seq": 0,
            **device_fields(device)}


def device_from(item: dict) -> Device:
    return Device(id=item["id"], owner_id=item["owner_id"], name=item["name"], room=item["room"],
                  kind=item["kind"], unit=item["unit"], low_threshold=unnum(item.get("low_threshold")),
                  high_threshold=unnum(item.get("high_threshold")),
                  escalation_after_seconds=int(item["escalation_after_seconds"]),
                  created_at=unts(item["created_at"]), updated_at=unts(item["updated_at"]))


def reading_item(reading: Reading) -> dict:
    return {"PK": device_partition(reading.device_id), "SK": reading_sk(reading.recorded_at, reading.seq),
            "type": "reading", "value": num(reading.value), "recorded_at": ts(reading.recorded_at),
            "seq": reading.seq}


def reading_from(device_id: str, item: dict) -> Reading:
    return Reading(device_id, float(item["value"]), unts(item["recorded_at"]), int(item["seq"]))


def alert_fields(alert: Alert) -> dict:
    """The mutable attributes of an alert item, as stored."""
    return {"status": alert.status, "level": alert.level, "threshold": num(alert.threshold),
            "first_value": num(alert.first_value), "last_value": num(alert.last_value),
            "reading_count": alert.reading_count, "acknowledged_at": ts(alert.acknowledged_at),
            "resolved_at": ts(alert.resolved_at), "escalated_at": ts(alert.escalated_at),
            "updated_at": ts(alert.updated_at)}


def alert_item(alert: Alert, escalation_after_seconds: int) -> dict:
    return {**alert_key(alert.id), "type": "alert",
            "GSI1PK": alerts_of_owner(alert.owner_id),
            "GSI1SK": alert_order_key(alert.opened_at, alert.id),
            "id": alert.id, "device_id": alert.device_id, "owner_id": alert.owner_id,
            "kind": alert.kind, "opened_at": ts(alert.opened_at),
            "escalation_after_seconds": escalation_after_seconds, **alert_fields(alert)}


def alert_from(item: dict) -> Alert:
    return Alert(id=item["id"], device_id=item["device_id"], owner_id=item["owner_id"],
                 kind=item["kind"], status=item["status"], level=int(item["level"]),
                 threshold=unnum(item["threshold"]), first_value=unnum(item["first_value"]),
                 last_value=unnum(item["last_value"]), reading_count=int(item["reading_count"]),
                 opened_at=unts(item["opened_at"]), acknowledged_at=unts(item.get("acknowledged_at")),
                 resolved_at=unts(item.get("resolved_at")), escalated_at=unts(item.get("escalated_at")),
                 updated_at=unts(item["updated_at"]))
