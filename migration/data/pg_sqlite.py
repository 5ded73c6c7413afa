"""Stage 2 (PostgreSQL per service) -> stage 1 (SQLite): the reverse of sqlite_pg, for rollbacks.

When a cutover is rolled back, what the new owner accepted meanwhile must go back to the old
one. Each copy_<group>_back mirrors the group into the SQLite file in one transaction (SQLite
has one writer: the monolith's writes wait on the busy timeout), with stage 1's own
representation: integer milliseconds, escalation_due_at back into the `escalations` table,
Idempotency-Key records back into the single `idempotency` table. Readings are mirrored per
seq, keeping stage 2's seqs, and SQLite's AUTOINCREMENT follows the largest one.
Verification is direction-free: sqlite_pg.verify_<group>(sqlite_path, pg_dsn) compares the same
canonical rows, so it checks a rollback too.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg

from migration.data.common import CopyStats, Progress, Timer, quiet, to_ms
from migration.data.sqlite_pg import ALERT_COLS, ALERT_TIMES, DEVICE_COLS

BATCH = 50_000


def _open(sqlite_path) -> sqlite3.Connection:
    conn = sqlite3.connect(Path(sqlite_path), timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _rows(pg_dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def _mirror(db: sqlite3.Connection, table: str, cols: tuple[str, ...], keys: tuple[str, ...],
            rows: list[tuple], where: str = "1=1") -> tuple[int, int]:
    """Make the rows of table matching `where` exactly rows (caller's transaction); (written, deleted)."""
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS _back_{table} AS SELECT {', '.join(cols)} FROM {table} WHERE 0")
    db.execute(f"DELETE FROM _back_{table}")
    db.executemany(f"INSERT INTO _back_{table} VALUES ({', '.join('?' * len(cols))})", rows)
    match = " AND ".join(f"b.{k} = t.{k}" for k in keys)
    deleted = db.execute(f"DELETE FROM {table} AS t WHERE ({where}) AND NOT EXISTS "
                         f"(SELECT 1 FROM _back_{table} b WHERE {match})").rowcount
    same = " AND ".join(f"b.{c} IS t.{c}" for c in cols)
    written = db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} "
                         f"FROM _back_{table} b WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {same})").rowcount
    db.execute(f"DROP TABLE _back_{table}")
    return written, deleted


def _transaction(sqlite_path, group: str, progress: Progress | None, work) -> CopyStats:
    stats, timer, say = CopyStats(group), Timer(), progress or quiet
    with closing(_open(sqlite_path)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, written, deleted in work(db):
                stats.copied += written
                stats.deleted += deleted
                say(f"{group} back: {table}: {written} written, {deleted} deleted")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    stats.batches = 1
    stats.seconds = timer.seconds
    return stats


def _idempotency(pg_dsn: str) -> list[tuple]:
    out = []
    for user_id, key, fp, created, status, body, headers in _rows(
            pg_dsn, "SELECT user_id, key, fingerprint, created_at, status, body, headers"
                    " FROM idempotency_keys WHERE status IS NOT NULL"):
        out.append((user_id, key, fp, status, json.dumps(body), (headers or {}).get("Location"), to_ms(created)))
    return out


_IDEM_COLS = ("user_id", "key", "fingerprint", "status", "body", "location", "created_at")


def copy_identity_back(pg_dsn: str, sqlite_path, *, progress: Progress | None = None) -> CopyStats:
    """Users of the identity database back into stage 1 (hashes and ids unchanged)."""
    rows = [(i, u, h, to_ms(c)) for i, u, h, c in
            _rows(pg_dsn, "SELECT id, username, password_hash, created_at FROM users")]

    def work(db):
        yield ("users", *_mirror(db, "users", ("id", "username", "password_hash", "created_at"), ("id",), rows))
    return _transaction(sqlite_path, "identity", progress, work)


def copy_devices_back(pg_dsn: str, sqlite_path, *, progress: Progress | None = None) -> CopyStats:
    """Devices and the POST /devices idempotency records back into stage 1."""
    rows = [r[:9] + (to_ms(r[9]), to_ms(r[10])) for r in
            _rows(pg_dsn, f"SELECT {', '.join(DEVICE_COLS)} FROM devices")]
    idem = _idempotency(pg_dsn)

    def work(db):
        yield ("devices", *_mirror(db, "devices", DEVICE_COLS, ("id",), rows))
        yield ("idempotency", *_mirror(db, "idempotency", _IDEM_COLS, ("user_id", "key"), idem,
                                       "location LIKE '/devices/%'"))
    return _transaction(sqlite_path, "devices", progress, work)


def copy_alerts_back(pg_dsn: str, sqlite_path, *, progress: Progress | None = None) -> CopyStats:
    """Alerts back into stage 1, each pending escalation_due_at as an `escalations` row."""
    times = {ALERT_COLS.index(c) for c in ALERT_TIMES}
    raw = _rows(pg_dsn, f"SELECT {', '.join(ALERT_COLS)}, escalation_due_at FROM alerts")
    alerts = [tuple(to_ms(v) if i in times else v for i, v in enumerate(r[:-1])) for r in raw]
    escalations = [(r[0], r[1], to_ms(r[-1])) for r in raw if r[-1] is not None]

    def work(db):
        yield ("alerts", *_mirror(db, "alerts", ALERT_COLS, ("id",), alerts))
        yield ("escalations", *_mirror(db, "escalations", ("alert_id", "device_id", "due_at"), ("alert_id",),
                                       escalations))
    return _transaction(sqlite_path, "alerts", progress, work)


def copy_readings_back(pg_dsn: str, sqlite_path, *, progress: Progress | None = None) -> CopyStats:
    """Readings (with their seqs) and POST readings idempotency records back into stage 1.

    Rows are compared per seq: what stage 1 lacks or holds differently is written, what stage 2
    no longer has (a deleted device's readings) is deleted.
    """
    idem = _idempotency(pg_dsn)
    readings = [(s, d, v, to_ms(t)) for s, d, v, t in
                _rows(pg_dsn, "SELECT seq, device_id, value, recorded_at FROM readings ORDER BY seq")]

    def work(db):
        yield ("readings", *_mirror(db, "readings", ("seq", "device_id", "value", "recorded_at"), ("seq",),
                                    readings))
        yield ("idempotency", *_mirror(db, "idempotency", _IDEM_COLS, ("user_id", "key"), idem,
                                       "location IS NULL OR location NOT LIKE '/devices/%'"))
    return _transaction(sqlite_path, "readings", progress, work)


GROUPS = ("identity", "devices", "readings", "alerts")
COPY_BACK = {"identity": copy_identity_back, "devices": copy_devices_back,
             "readings": copy_readings_back, "alerts": copy_alerts_back}
