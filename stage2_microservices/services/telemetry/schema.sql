-- Telemetry service schema (applied at startup, idempotent).
CREATE TABLE IF NOT EXISTS readings (
    seq          BIGSERIAL PRIMARY KEY,  -- acceptance order: tie-break of equal recorded_at
    device_id    TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_by_device ON readings (device_id, recorded_at, seq);
