"""Initial schema: users, devices, readings, alerts, outbox, escalations, idempotency."""
import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(32), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("room", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("low_threshold", sa.Float, nullable=True),
        sa.Column("high_threshold", sa.Float, nullable=True),
        sa.Column("escalation_after_seconds", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Integer, nullable=False),
    )
    op.create_index("ix_devices_owner_created", "devices", ["owner_id", "created_at", "id"])
    op.create_table(
        "readings",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("recorded_at", sa.Integer, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_readings_device_time", "readings", ["device_id", "recorded_at", "seq"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("first_value", sa.Float, nullable=False),
        sa.Column("last_value", sa.Float, nullable=False),
        sa.Column("reading_count", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.Integer, nullable=False),
        sa.Column("acknowledged_at", sa.Integer, nullable=True),
        sa.Column("resolved_at", sa.Integer, nullable=True),
        sa.Column("escalated_at", sa.Integer, nullable=True),
        sa.Column("updated_at", sa.Integer, nullable=False),
    )
    op.create_index("ix_alerts_owner_opened", "alerts", ["owner_id", "opened_at", "id"])
    op.create_index("ix_alerts_device_status", "alerts", ["device_id", "status"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("processed_at", sa.Integer, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_pending", "outbox", ["processed_at", "id"])
    op.create_table(
        "escalations",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("due_at", sa.Integer, nullable=False),
    )
    op.create_index("ix_escalations_due", "escalations", ["due_at"])
    op.create_index("ix_escalations_device", "escalations", ["device_id"])
    op.create_table(
        "idempotency",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("location", sa.String(255), nullable=True),
        sa.Column("created_at", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("idempotency", "escalations", "outbox", "alerts", "readings", "devices", "users"):
        op.drop_table(table)
