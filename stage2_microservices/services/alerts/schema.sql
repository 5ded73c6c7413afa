-- Alerts service schema (applied at startup, idempotent).
CREATE TABLE IF NOT EXISTS alerts (
    id                 TEXT PRIMARY KEY,
    device_id          TEXT NOT NULL,
    owner_id           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    status             TEXT NOT NULL,
    level              INTEGER NOT NULL,
    threshold          DOUBLE PRECISION NOT NULL,
    first_value        DOUBLE PRECISION NOT NULL,
    last_value         DOUBLE PRECISION NOT NULL,
    reading_count      INTEGER NOT NULL,
    opened_at          TIMESTAMPTZ NOT NULL,
    acknowledged_at    TIMESTAMPTZ,
    resolved_at        TIMESTAMPTZ,
    escalated_at       TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ NOT NULL,
    -- The persisted escalation timer: the scheduler picks rows whose time has come.
    escalation_due_at  TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS alerts_by_owner ON alerts (owner_id, opened_at DESC, id DESC);
-- Which devices an owner has alerts of (visibility is decided per device before paging).
CREATE INDEX IF NOT EXISTS alerts_owner_devices ON alerts (owner_id, device_id);
CREATE INDEX IF NOT EXISTS alerts_active ON alerts (device_id) WHERE status <> 'resolved';
CREATE INDEX IF NOT EXISTS alerts_due ON alerts (escalation_due_at) WHERE escalation_due_at IS NOT NULL;

-- Projection of the devices service, fed by device.* and reading events; deleted rows are tombstones.
CREATE TABLE IF NOT EXISTS device_projection (
    id          TEXT PRIMARY KEY,
    snapshot    JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    deleted     BOOLEAN NOT NULL DEFAULT false
);
