"""Rollback data moves of the 1x steps: a service's PostgreSQL rows back into the monolith's SQLite.

Each copy makes the monolith's table(s) for the group a mirror of the service's in ONE SQLite write
transaction (the running monolith waits on its busy timeout meanwhile), so a rerun gives the same
result. Each verify compares counts and a checksum per owner, the same shape as the forward moves
(migration.data.common.Verification), computed over the columns both stores share.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from typing import Iterable

import psycopg

from migration.data.common import Verification

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)

USER_COLS = ("id", "username", "password_hash", "created_at")
DEVICE_COLS = ("id", "owner_id", "name", "room", "kind", "unit", "low_threshold", "high_threshold",
               "escalation_after_seconds", "created_at", "updated_at")
ALERT_COLS = ("id", "device_id", "owner_id", "kind", "status", "level", "threshold", "first_value",
              "last_value", "reading_count", "opened_at", "acknowledged_at", "resolved_at",
              "escalated_at", "updated_at")
READING_COLS = ("seq", "device_id", "value", "recorded_at")


def _ms(value):
    return (value - EPOCH) // _MS if isinstance(value, datetime) else value


def _pg_rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return [tuple(_ms(v) for v in row) for row in conn.execute(sql)]


def _sqlite_rows(path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        return [tuple(row) for row in conn.execute(sql)]


def _write(path, statements: Iterable[tuple[str, list]]) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                if rows is None:
                    conn.execute(sql)
                else:
                    conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _insert(table: str, cols) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _verify(group: str, source: list[tuple], target: list[tuple], owner_of) -> Verification:
    def digests(rows):
        per: dict[str, list[str]] = {}
        for row in rows:
            per.setdefault(owner_of(row), []).append(repr(row))
        return {o: hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest() for o, lines in per.items()}

    started = time.monotonic()
    a, b = digests(source), digests(target)
    owners = set(a) | set(b)
    bad = sorted(o for o in owners if a.get(o) != b.get(o))
    return Verification(group, len(source), len(target), len(owners), bad, time.monotonic() - started)


# --- identity ----------------------------------------------------------------------------------
def copy_identity_back(sqlite_path, pg_dsn: str) -> int:
    """identity.users -> SQLite users (upsert by id; the monolith never deletes users)."""
    rows = _pg_rows(pg_dsn, f"SELECT {', '.join(USER_COLS)} FROM users")
    _write(sqlite_path, [(
        _insert("users", USER_COLS) + " ON CONFLICT(id) DO UPDATE SET username = excluded.username,"
        " password_hash = excluded.password_hash, created_at = excluded.created_at", rows)])
    return len(rows)


def verify_identity_back(sqlite_path, pg_dsn: str) -> Verification:
    sql = f"SELECT {', '.join(USER_COLS)} FROM users"
    return _verify("identity", _pg_rows(pg_dsn, sql), _sqlite_rows(sqlite_path, sql), lambda r: r[0])


# --- devices -----------------------------------------------------------------------------------
def copy_devices_back(sqlite_path, pg_dsn: str) -> int:
    """devices.devices -> SQLite devices (mirror: a device deleted meanwhile goes here too)."""
    rows = _pg_rows(pg_dsn, f"SELECT {', '.join(DEVICE_COLS)} FROM devices")
    _write(sqlite_path, [("DELETE FROM devices", None), (_insert("devices", DEVICE_COLS), rows)])
    return len(rows)


def verify_devices_back(sqlite_path, pg_dsn: str) -> Verification:
    sql = f"SELECT {', '.join(DEVICE_COLS)} FROM devices"
    return _verify("devices", _pg_rows(pg_dsn, sql), _sqlite_rows(sqlite_path, sql), lambda r: r[1])


# --- readings ----------------------------------------------------------------------------------
def copy_readings_back(sqlite_path, pg_dsn: str) -> int:
    """telemetry.readings -> SQLite readings with their seq (AUTOINCREMENT continues after them)."""
    rows = _pg_rows(pg_dsn, f"SELECT {', '.join(READING_COLS)} FROM readings ORDER BY seq")
    _write(sqlite_path, [("DELETE FROM readings", None), (_insert("readings", READING_COLS), rows)])
    return len(rows)


def verify_readings_back(sqlite_path, pg_dsn: str) -> Verification:
    sql = f"SELECT {', '.join(READING_COLS)} FROM readings"
    owners = dict(_sqlite_rows(sqlite_path, "SELECT id, owner_id FROM devices"))
    return _verify("readings", _pg_rows(pg_dsn, sql), _sqlite_rows(sqlite_path, sql),
                   lambda r: owners.get(r[1], "?"))


# --- alerts ------------------------------------------------------------------------------------
def copy_alerts_back(sqlite_path, pg_dsn: str) -> int:
    """alerts.alerts -> SQLite alerts, and each pending escalation_due_at -> SQLite escalations."""
    rows = _pg_rows(pg_dsn, f"SELECT {', '.join(ALERT_COLS)}, escalation_due_at FROM alerts")
    _write(sqlite_path, [
        ("DELETE FROM escalations", None), ("DELETE FROM alerts", None),
        (_insert("alerts", ALERT_COLS), [r[:-1] for r in rows]),
        (_insert("escalations", ("alert_id", "device_id", "due_at")),
         [(r[0], r[1], r[-1]) for r in rows if r[-1] is not None]),
    ])
    return len(rows)


def verify_alerts_back(sqlite_path, pg_dsn: str) -> Verification:
    source = _pg_rows(pg_dsn, f"SELECT {', '.join(ALERT_COLS)}, escalation_due_at FROM alerts")
    target = _sqlite_rows(sqlite_path, f"SELECT {', '.join('a.' + c for c in ALERT_COLS)}, e.due_at"
                                       " FROM alerts a LEFT JOIN escalations e ON e.alert_id = a.id")
    return _verify("alerts", source, target, lambda r: r[2])
