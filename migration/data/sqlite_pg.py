"""Stage 1 SQLite -> stage 2 PostgreSQL, per resource group: copy_<group> and verify_<group>.

MINIMAL VERSION written by the edge steps (i8edge) so cutovers can run before the data package
lands: identity only. The data package's own version replaces this file when merged.
Copies are idempotent upserts; verify compares counts and a checksum per owner.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

import psycopg

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class CopyStats:
    """What one copy did."""

    group: str
    rows: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"group": self.group, "rows": self.rows, "seconds": round(self.seconds, 3)}


@dataclass
class Verification:
    """Counts on both sides and per-owner checksum mismatches."""

    group: str
    source_count: int
    target_count: int
    owners_checked: int
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.source_count == self.target_count and not self.mismatches

    def to_json(self) -> dict:
        return {"source_count": self.source_count, "target_count": self.target_count,
                "owners_checked": self.owners_checked, "mismatches": len(self.mismatches)}


def ms_to_dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def dt_to_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def sqlite_connect(path) -> sqlite3.Connection:
    # Read-only snapshot reads; the monolith keeps writing to other tables meanwhile (WAL).
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def owner_checksums(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    """owner -> sha256 over that owner's canonical row strings, order-independent."""
    per_owner: dict[str, list[str]] = {}
    for owner, line in rows:
        per_owner.setdefault(owner, []).append(line)
    return {o: hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest() for o, lines in per_owner.items()}


def compare(group: str, source: dict[str, str], target: dict[str, str], source_count: int,
            target_count: int) -> Verification:
    owners = set(source) | set(target)
    bad = sorted(o for o in owners if source.get(o) != target.get(o))
    return Verification(group, source_count, target_count, len(owners), bad)


def _user_line(user_id: str, username: str, password_hash: str, created_ms: int) -> tuple[str, str]:
    return user_id, f"{user_id}|{username}|{password_hash}|{created_ms}"


def copy_identity(sqlite_path, pg_dsn: str, *, progress: Callable[[str], None] | None = None) -> CopyStats:
    """Users with their password hashes: SQLite users -> identity.users (upsert by id)."""
    started = time.monotonic()
    with sqlite_connect(sqlite_path) as src:
        rows = src.execute("SELECT id, username, password_hash, created_at FROM users").fetchall()
    with psycopg.connect(pg_dsn) as dst:
        with dst.cursor() as cur:
            cur.executemany(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username,"
                " password_hash = EXCLUDED.password_hash, created_at = EXCLUDED.created_at",
                [(r["id"], r["username"], r["password_hash"], ms_to_dt(r["created_at"])) for r in rows])
    stats = CopyStats("identity", len(rows), time.monotonic() - started)
    if progress:
        progress(f"identity: {stats.rows} users copied in {stats.seconds:.2f} s")
    return stats


def verify_identity(sqlite_path, pg_dsn: str) -> Verification:
    """Every SQLite user is in PostgreSQL with the same username, hash and created_at."""
    with sqlite_connect(sqlite_path) as src:
        source = [_user_line(*tuple(r)) for r in src.execute(
            "SELECT id, username, password_hash, created_at FROM users")]
    with psycopg.connect(pg_dsn) as dst:
        target = [_user_line(i, u, h, dt_to_ms(c)) for i, u, h, c in dst.execute(
            "SELECT id, username, password_hash, created_at FROM users")]
    return compare("identity", owner_checksums(source), owner_checksums(target), len(source), len(target))


# --- devices, readings, alerts (minimal versions for the 1c/1d cutovers) -------------------------
_DEVICE_COLS = ("id", "owner_id", "name", "room", "kind", "unit", "low_threshold", "high_threshold",
                "escalation_after_seconds", "created_at", "updated_at")
_DEVICE_TIMES = ("created_at", "updated_at")
_ALERT_COLS = ("id", "device_id", "owner_id", "kind", "status", "level", "threshold", "first_value",
               "last_value", "reading_count", "opened_at", "acknowledged_at", "resolved_at",
               "escalated_at", "updated_at")
_ALERT_TIMES = ("opened_at", "acknowledged_at", "resolved_at", "escalated_at", "updated_at")


def _to_pg(row: dict, times) -> dict:
    return {k: (ms_to_dt(v) if k in times and v is not None else v) for k, v in row.items()}


def _from_pg(row: dict, times) -> dict:
    return {k: (dt_to_ms(v) if k in times and v is not None else v) for k, v in row.items()}


def _line(row: dict, cols) -> str:
    return "|".join(repr(row[c]) for c in cols)


def _upsert_sql(table: str, cols, key: str) -> str:
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != key)
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}")


def _sqlite_rows(sqlite_path, sql: str) -> list[dict]:
    with sqlite_connect(sqlite_path) as src:
        return [dict(r) for r in src.execute(sql)]


def device_snapshot_json(row: dict) -> str:
    """The stage 2 device snapshot (public JSON + owner_id) of a SQLite devices row."""
    import json

    from homesense_core.model import Device, device_to_json

    device = Device(**_to_pg(row, _DEVICE_TIMES))
    return json.dumps({**device_to_json(device), "owner_id": device.owner_id})


def copy_devices(sqlite_path, pg_dsn: str, *, progress=None) -> CopyStats:
    """SQLite devices -> devices.devices (upsert by id)."""
    started = time.monotonic()
    rows = _sqlite_rows(sqlite_path, f"SELECT {', '.join(_DEVICE_COLS)} FROM devices")
    with psycopg.connect(pg_dsn) as dst, dst.cursor() as cur:
        cur.executemany(_upsert_sql("devices", _DEVICE_COLS, "id"),
                        [[_to_pg(r, _DEVICE_TIMES)[c] for c in _DEVICE_COLS] for r in rows])
    stats = CopyStats("devices", len(rows), time.monotonic() - started)
    if progress:
        progress(f"devices: {stats.rows} copied in {stats.seconds:.2f} s")
    return stats


def verify_devices(sqlite_path, pg_dsn: str) -> Verification:
    source = _sqlite_rows(sqlite_path, f"SELECT {', '.join(_DEVICE_COLS)} FROM devices")
    with psycopg.connect(pg_dsn) as dst:
        cur = dst.execute(f"SELECT {', '.join(_DEVICE_COLS)} FROM devices")
        names = [d.name for d in cur.description]
        target = [_from_pg(dict(zip(names, r)), _DEVICE_TIMES) for r in cur]
    sums = [owner_checksums((r["owner_id"], _line(r, _DEVICE_COLS)) for r in rows) for rows in (source, target)]
    return compare("devices", *sums, len(source), len(target))


_READING_COLS = ("seq", "device_id", "value", "recorded_at")


def copy_readings(sqlite_path, pg_dsn: str, *, progress=None) -> CopyStats:
    """SQLite readings -> telemetry.readings, keeping each acceptance sequence (the paging tie-break)."""
    started = time.monotonic()
    rows = _sqlite_rows(sqlite_path, "SELECT seq, device_id, value, recorded_at FROM readings ORDER BY seq")
    with psycopg.connect(pg_dsn) as dst, dst.cursor() as cur:
        cur.execute("CREATE TEMP TABLE incoming (LIKE readings INCLUDING DEFAULTS) ON COMMIT DROP")
        with cur.copy("COPY incoming (seq, device_id, value, recorded_at) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r["seq"], r["device_id"], r["value"], ms_to_dt(r["recorded_at"])))
        cur.execute("INSERT INTO readings (seq, device_id, value, recorded_at)"
                    " SELECT seq, device_id, value, recorded_at FROM incoming"
                    " ON CONFLICT (seq) DO UPDATE SET device_id = EXCLUDED.device_id,"
                    " value = EXCLUDED.value, recorded_at = EXCLUDED.recorded_at")
        # New readings continue after the copied ones, so acceptance order keeps its meaning.
        cur.execute("SELECT setval(pg_get_serial_sequence('readings', 'seq'),"
                    " GREATEST((SELECT COALESCE(max(seq), 0) FROM readings), 1))")
    stats = CopyStats("readings", len(rows), time.monotonic() - started)
    if progress:
        progress(f"readings: {stats.rows} copied in {stats.seconds:.2f} s")
    return stats


def verify_readings(sqlite_path, pg_dsn: str) -> Verification:
    owners = {r["id"]: r["owner_id"] for r in _sqlite_rows(sqlite_path, "SELECT id, owner_id FROM devices")}
    source = _sqlite_rows(sqlite_path, "SELECT seq, device_id, value, recorded_at FROM readings")
    with psycopg.connect(pg_dsn) as dst:
        target = [{"seq": s, "device_id": d, "value": v, "recorded_at": dt_to_ms(t)}
                  for s, d, v, t in dst.execute("SELECT seq, device_id, value, recorded_at FROM readings")]
    sums = [owner_checksums((owners.get(r["device_id"], "?"), _line(r, _READING_COLS)) for r in rows)
            for rows in (source, target)]
    return compare("readings", *sums, len(source), len(target))


def copy_alerts(sqlite_path, pg_dsn: str, *, progress=None) -> CopyStats:
    """Alerts with their pending escalation times, and the devices projection alerts escalates by."""
    started = time.monotonic()
    alerts = _sqlite_rows(sqlite_path, "SELECT a.*, e.due_at FROM alerts a LEFT JOIN escalations e ON e.alert_id = a.id")
    devices = _sqlite_rows(sqlite_path, f"SELECT {', '.join(_DEVICE_COLS)} FROM devices")
    cols = (*_ALERT_COLS, "escalation_due_at")
    with psycopg.connect(pg_dsn) as dst, dst.cursor() as cur:
        cur.executemany(_upsert_sql("alerts", cols, "id"), [
            [*(_to_pg({c: a[c] for c in _ALERT_COLS}, _ALERT_TIMES)[c] for c in _ALERT_COLS),
             ms_to_dt(a["due_at"]) if a["due_at"] is not None else None] for a in alerts])
        cur.executemany(
            "INSERT INTO device_projection (id, snapshot, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET snapshot = EXCLUDED.snapshot, updated_at = EXCLUDED.updated_at"
            " WHERE NOT device_projection.deleted AND device_projection.updated_at <= EXCLUDED.updated_at",
            [(d["id"], device_snapshot_json(d), ms_to_dt(d["updated_at"])) for d in devices])
    stats = CopyStats("alerts", len(alerts), time.monotonic() - started)
    if progress:
        progress(f"alerts: {stats.rows} alerts (+{len(devices)} device projections) copied in {stats.seconds:.2f} s")
    return stats


def verify_alerts(sqlite_path, pg_dsn: str) -> Verification:
    cols = (*_ALERT_COLS, "due_at")
    source = _sqlite_rows(sqlite_path, "SELECT a.*, e.due_at FROM alerts a LEFT JOIN escalations e ON e.alert_id = a.id")
    with psycopg.connect(pg_dsn) as dst:
        cur = dst.execute(f"SELECT {', '.join(_ALERT_COLS)}, escalation_due_at AS due_at FROM alerts")
        names = [d.name for d in cur.description]
        target = [_from_pg(dict(zip(names, r)), (*_ALERT_TIMES, "due_at")) for r in cur]
    sums = [owner_checksums((r["owner_id"], _line(r, cols)) for r in rows) for rows in (source, target)]
    return compare("alerts", *sums, len(source), len(target))
