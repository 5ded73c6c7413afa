"""SQLAlchemy Core table definitions (the schema the Alembic migrations create)."""
from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

# Timestamps are stored as integer milliseconds since the epoch (UTC): they sort and compare exactly.
users = Table(
    "users", metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", Integer, nullable=False),
)

devices = Table(
    "devices", metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("room", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("low_threshold", Float, nullable=True),
    Column("high_threshold", Float, nullable=True),
    Column("escalation_after_seconds", Integer, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("updated_at", Integer, nullable=False),
    Index("ix_devices_owner_created", "owner_id", "created_at", "id"),
)

readings = Table(
    "readings", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("recorded_at", Integer, nullable=False),
    Index("ix_readings_device_time", "device_id", "recorded_at", "seq"),
    sqlite_autoincrement=True,
)

alerts = Table(
    "alerts", metadata,
    Column("id", String(64), primary_key=True),
    Column("device_id", String(64), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("level", Integer, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("first_value", Float, nullable=False),
    Column("last_value", Float, nullable=False),
    Column("reading_count", Integer, nullable=False),
    Column("opened_at", Integer, nullable=False),
    Column("acknowledged_at", Integer, nullable=True),
    Column("resolved_at", Integer, nullable=True),
    Column("escalated_at", Integer, nullable=True),
    Column("updated_at", Integer, nullable=False),
    Index("ix_alerts_owner_opened", "owner_id", "opened_at", "id"),
    Index("ix_alerts_device_status", "device_id", "status"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("processed_at", Integer, nullable=True),
    Index("ix_outbox_pending", "processed_at", "id"),
    sqlite_autoincrement=True,
)

escalations = Table(
    "escalations", metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("device_id", String(64), nullable=False),
    Column("due_at", Integer, nullable=False),
    Index("ix_escalations_due", "due_at"),
    Index("ix_escalations_device", "device_id"),
)

idempotency = Table(
    "idempotency", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(128), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("location", String(255), nullable=True),
    Column("created_at", Integer, nullable=False),
)
