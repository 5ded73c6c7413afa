-- Devices service schema (applied at startup, idempotent).
CREATE TABLE IF NOT EXISTS devices (
    id                        TEXT PRIMARY KEY,
    owner_id                  TEXT NOT NULL,
    name                      TEXT NOT NULL,
    room                      TEXT NOT NULL,
    kind                      TEXT NOT NULL,
    unit                      TEXT NOT NULL,
    low_threshold             DOUBLE PRECISION,
    high_threshold            DOUBLE PRECISION,
    escalation_after_seconds  INTEGER NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_by_owner ON devices (owner_id, created_at, id);
