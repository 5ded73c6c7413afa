-- Identity service schema (applied at startup, idempotent).
CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- Login throttle and registration budget records (homesense_core.throttle), shared by replicas.
CREATE TABLE IF NOT EXISTS throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_at      DOUBLE PRECISION NOT NULL,
    locked_until DOUBLE PRECISION NOT NULL
);
