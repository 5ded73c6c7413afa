"""Stage 1 (one SQLite file) -> stage 2 (one PostgreSQL database per service), per resource group.

Groups and where they land:
  identity  users (password hashes and ids as they are)            -> identity db
  devices   devices, plus the Idempotency-Key records of POST /devices -> devices db
  readings  readings with their seq (acceptance order), plus the records of POST .../readings
                                                                    -> telemetry db
  alerts    alerts with their pending escalation (stage 1 `escalations.due_at` becomes
            `alerts.escalation_due_at`), plus the device projection the alerts service
            escalates and lists with                                -> alerts db

Every copy makes the target an exact mirror of the source for its group: rows are upserted
(only changed rows are written, so a rerun writes nothing) and target rows the source no longer
has are deleted. Small groups go in one transaction each. Readings go in chunks by seq, one
transaction per chunk with its checkpoint row (`migration_checkpoint` in the target), so an
interrupted copy resumes after the last committed chunk and a later run copies only the tail
(the source's seq only grows: SQLite commits one writer at a time, in seq order).
The target schema is created if missing, with the services' own DDL.
"""
from __future__ import annotations

import json
import queue
import sqlite3
import threading
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import psycopg

from homesense_core.model import Device
# Imported here, not on first use: it pulls in FastAPI (~2 s), which must not land in a cutover's
# write freeze.
from homesense_core.integration_events import device_snapshot
from stage2_microservices.common.uow import COMMON_SCHEMA

from migration.data.common import (EPOCH, CopyStats, DeviceDigests, OwnerDigests, Progress, Timer,
                                   Verification, canonical, compare, from_ms, quiet, reading_line, to_ms)

STAGE2 = Path(__file__).resolve().parents[2] / "stage2_microservices"
CHECKPOINT_DDL = """
CREATE TABLE IF NOT EXISTS migration_checkpoint (
    grp       TEXT PRIMARY KEY,
    position  BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""
READINGS_CHUNK = 100_000
REBUILD_INDEX_FROM = 50_000  # rows; below this, dropping and rebuilding the index is not worth it

USER_COLS = ("id", "username", "password_hash", "created_at")
DEVICE_COLS = ("id", "owner_id", "name", "room", "kind", "unit", "low_threshold", "high_threshold",
               "escalation_after_seconds", "created_at", "updated_at")
ALERT_COLS = ("id", "device_id", "owner_id", "kind", "status", "level", "threshold", "first_value",
              "last_value", "reading_count", "opened_at", "acknowledged_at", "resolved_at",
              "escalated_at", "updated_at")
ALERT_TIMES = ("opened_at", "acknowledged_at", "resolved_at", "escalated_at", "updated_at")
IDEM_COLS = ("user_id", "key", "fingerprint", "created_at", "status", "body", "headers")


# --- connections -------------------------------------------------------------------------------

def open_sqlite(path) -> sqlite3.Connection:
    """Read-only: a running monolith keeps writing (WAL readers never block it)."""
    conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _schema(service: str) -> str:
    return COMMON_SCHEMA + (STAGE2 / "services" / service / "schema.sql").read_text() + CHECKPOINT_DDL


@contextmanager
def _target(pg_dsn: str, service: str) -> Iterator[psycopg.Connection]:
    """A connection to the service database with its schema in place."""
    # autocommit: each `with conn.transaction()` below is then a real BEGIN ... COMMIT.
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        # The checkpoint commits with its chunk, so an unflushed commit lost in a crash loses both.
        conn.execute("SET synchronous_commit = off")
        with conn.transaction():
            # Same lock id as the services' startup migration: never run DDL beside them.
            conn.execute("SELECT pg_advisory_xact_lock(72001)")
            conn.execute(_schema(service))
        yield conn


def _ts(ms):
    return from_ms(ms)


# --- source rows (normalised: datetimes for PostgreSQL) ------------------------------------------

def _users(src: sqlite3.Connection) -> list[tuple]:
    return [(i, u, h, _ts(c)) for i, u, h, c in
            src.execute("SELECT id, username, password_hash, created_at FROM users")]


def _devices(src: sqlite3.Connection) -> list[tuple]:
    rows = src.execute(f"SELECT {', '.join(DEVICE_COLS)} FROM devices").fetchall()
    return [r[:9] + (_ts(r[9]), _ts(r[10])) for r in rows]


def _alerts(src: sqlite3.Connection) -> list[tuple]:
    """Alert rows plus escalation_due_at (NULL unless an escalation is pending)."""
    cols = ", ".join(f"a.{c}" for c in ALERT_COLS)
    rows = src.execute(f"SELECT {cols}, e.due_at FROM alerts a "
                       "LEFT JOIN escalations e ON e.alert_id = a.id").fetchall()
    times = {ALERT_COLS.index(c) for c in ALERT_TIMES} | {len(ALERT_COLS)}
    return [tuple(_ts(v) if i in times else v for i, v in enumerate(r)) for r in rows]


def _idempotency(src: sqlite3.Connection, kind: str) -> list[tuple]:
    """Records of POST /devices (kind "devices": a Location) or of POST readings ("readings": 202).

    Stage 2 keeps them per service, so each lands in the database of the service that replays it.
    """
    out = []
    for user_id, key, fp, status, body, location, created in src.execute(
            "SELECT user_id, key, fingerprint, status, body, location, created_at FROM idempotency"):
        is_device = location is not None and location.startswith("/devices/")
        if (kind == "devices") != is_device:
            continue
        headers = {"Location": location} if location is not None else {}
        out.append((user_id, key, fp, _ts(created), status, json.loads(body), headers))
    return out


def _pending_outbox(src: sqlite3.Connection) -> int:
    return src.execute("SELECT count(*) FROM outbox WHERE processed_at IS NULL").fetchone()[0]


# --- mirroring small tables --------------------------------------------------------------------

def _mirror(conn: psycopg.Connection, table: str, cols: tuple[str, ...], keys: tuple[str, ...],
            rows: list[tuple], jsonb: tuple[str, ...] = ()) -> tuple[int, int]:
    """Make table hold exactly rows (inside the caller's transaction); (written, deleted)."""
    stage = f"_src_{table}"
    conn.execute(f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    with conn.cursor().copy(f"COPY {stage} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(v) if c in jsonb else v for c, v in zip(cols, row)])
    key = ", ".join(keys)
    deleted = conn.execute(
        f"DELETE FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM {stage} s WHERE "
        + " AND ".join(f"s.{k} = t.{k}" for k in keys) + ")").rowcount
    others = [c for c in cols if c not in keys]
    # IS DISTINCT FROM: an unchanged row is not rewritten, so a rerun writes nothing.
    changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in others)
    written = conn.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} "
        f"ON CONFLICT ({key}) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in others)} "
        f"WHERE {changed}").rowcount
    conn.execute(f"DROP TABLE {stage}")
    return written, deleted


def _copy_small(group: str, service: str, sqlite_path, pg_dsn: str, progress: Progress | None,
                tables) -> CopyStats:
    stats, timer, say = CopyStats(group), Timer(), progress or quiet
    with closing(open_sqlite(sqlite_path)) as src, _target(pg_dsn, service) as conn:
        with conn.transaction():
            for table, cols, keys, rows, jsonb in tables(src):
                written, deleted = _mirror(conn, table, cols, keys, rows, jsonb)
                stats.copied += written
                stats.deleted += deleted
                say(f"{group}: {table}: {len(rows)} source rows, {written} written, {deleted} deleted")
        stats.batches = 1
    stats.seconds = timer.seconds
    return stats


# --- copy functions ----------------------------------------------------------------------------

def copy_identity(sqlite_path, pg_dsn: str, *, progress: Progress | None = None) -> CopyStats:
    """Users, ids and scrypt password hashes unchanged, into the identity database."""
    return _copy_small("identity", "identity", sqlite_path, pg_dsn, progress, lambda src: [
        ("users", USER_COLS, ("id",), _users(src), ())])


def copy_devices(sqlite_path, pg_dsn: str, *, progress: Progress | None = None) -> CopyStats:
    """Devices and the Idempotency-Key records of POST /devices, into the devices database."""
    return _copy_small("devices", "devices", sqlite_path, pg_dsn, progress, lambda src: [
        ("devices", DEVICE_COLS, ("id",), _devices(src), ()),
        ("idempotency_keys", IDEM_COLS, ("user_id", "key"), _idempotency(src, "devices"),
         ("body", "headers"))])


def _projection_rows(devices: list[tuple]) -> list[tuple]:
    return [(d[0], device_snapshot(Device(*d)), d[10], False) for d in devices]


def copy_alerts(sqlite_path, pg_dsn: str, *, progress: Progress | None = None) -> CopyStats:
    """Alerts with their pending escalation due time, and the device projection, into the alerts db.

    An open alert keeps its stage 1 due time, so the alerts service's scheduler escalates it
    exactly when the monolith would have; the projection gives it the device's current
    escalation_after_seconds for the later levels and makes the alert listable at once.
    """
    def tables(src):
        return [("alerts", ALERT_COLS + ("escalation_due_at",), ("id",), _alerts(src), ()),
                ("device_projection", ("id", "snapshot", "updated_at", "deleted"), ("id",),
                 _projection_rows(_devices(src)), ("snapshot",))]

    stats = _copy_small("alerts", "alerts", sqlite_path, pg_dsn, progress, tables)
    return stats


def _checkpoint(conn, group: str) -> int | None:
    row = conn.execute("SELECT position FROM migration_checkpoint WHERE grp = %s", [group]).fetchone()
    return None if row is None else row[0]


def _set_checkpoint(conn, group: str, position: int) -> None:
    conn.execute("INSERT INTO migration_checkpoint (grp, position) VALUES (%s, %s) ON CONFLICT (grp)"
                 " DO UPDATE SET position = EXCLUDED.position, updated_at = now()", [group, position])


class _TimestampText:
    """ms -> PostgreSQL timestamptz text, formatting each second once (readings cluster in time)."""

    def __init__(self):
        self._seconds: dict[int, str] = {}

    def __call__(self, ms: int) -> str:
        sec, frac = divmod(ms, 1000)
        prefix = self._seconds.get(sec)
        if prefix is None:
            if len(self._seconds) > 100_000:
                self._seconds.clear()
            dt = EPOCH + timedelta(seconds=sec)
            prefix = self._seconds[sec] = (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} "
                                           f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.")
        return f"{prefix}{frac:03d}+00"


class _Chunks:
    """COPY text of successive seq ranges, read and formatted in a thread one chunk ahead.

    While PostgreSQL ingests chunk n (no GIL held while we wait for it), chunk n+1 is prepared.
    """

    def __init__(self, sqlite_path, after: int, size: int):
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(sqlite_path, after, size), daemon=True)
        self._thread.start()

    def _run(self, sqlite_path, after, size):
        ts_text, ids = _TimestampText(), {}
        try:
            with closing(open_sqlite(sqlite_path)) as src:
                while not self._stop.is_set():
                    rows = src.execute("SELECT seq, device_id, value, recorded_at FROM readings"
                                       " WHERE seq > ? ORDER BY seq LIMIT ?", [after, size]).fetchall()
                    if not rows:
                        break
                    lines = []
                    for seq, device_id, value, recorded in rows:
                        did = ids.get(device_id)
                        if did is None:
                            did = ids[device_id] = device_id.translate(_COPY_ESCAPES)
                        lines.append(f"{seq}\t{did}\t{value!r}\t{ts_text(recorded)}\n")
                    after = rows[-1][0]
                    self._put((after, "".join(lines), len(rows)))
            self._put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_readings(sqlite_path, pg_dsn: str, *, progress: Progress | None = None,
                  chunk: int = READINGS_CHUNK, restart: bool = False,
                  max_chunks: int | None = None) -> CopyStats:
    """Readings with their seq (so paging and equal-timestamp order stay identical), by chunks.

    Resumes after the target's checkpoint unless restart; max_chunks stops early (tests use it
    to interrupt a copy between two committed chunks). The telemetry sequence is moved past the
    copied seqs so readings accepted by stage 2 afterwards sort after them.
    """
    stats, timer, say = CopyStats("readings"), Timer(), progress or quiet
    with closing(open_sqlite(sqlite_path)) as src, _target(pg_dsn, "telemetry") as conn:
        source_max = src.execute("SELECT coalesce(max(seq), 0) FROM readings").fetchone()[0]
        total = src.execute("SELECT count(*) FROM readings").fetchone()[0]
        devices = [r[0] for r in src.execute("SELECT id FROM devices")]
        with conn.transaction():
            position = None if restart else _checkpoint(conn, "readings")
            if position is not None and position > source_max:
                say(f"readings: checkpoint {position} is past the source's last seq {source_max}; restarting")
                position = None
            stats.resumed_from = position
            position = position or 0
            # Readings of devices deleted in the source since an earlier run go too.
            stats.deleted += conn.execute("DELETE FROM readings WHERE device_id <> ALL(%s)",
                                          [devices]).rowcount
            stats.copied += _idempotency_mirror(conn, src, stats)
        say(f"readings: {total} in the source, copying seq > {position} in chunks of {chunk}")
        rebuild = position == 0 and total >= REBUILD_INDEX_FROM and \
            conn.execute("SELECT NOT EXISTS (SELECT 1 FROM readings)").fetchone()[0]
        if rebuild:
            # Into an empty table one index build after the load beats a million index inserts.
            # A crash before the rebuild is harmless: the next run's schema step recreates it.
            conn.execute("DROP INDEX IF EXISTS readings_by_device")
        chunks = _Chunks(sqlite_path, position, chunk)
        try:
            for last, text, n in chunks:
                if max_chunks is not None and stats.batches >= max_chunks:
                    stats.notes.append(f"stopped after {max_chunks} chunks")
                    stats.seconds = timer.seconds
                    return stats
                with conn.transaction():
                    # Whatever an earlier run left in this seq range is replaced, not duplicated.
                    stats.deleted += conn.execute("DELETE FROM readings WHERE seq > %s AND seq <= %s",
                                                  [position, last]).rowcount
                    with conn.cursor().copy("COPY readings (seq, device_id, value, recorded_at) FROM STDIN") as cp:
                        cp.write(text)
                    _set_checkpoint(conn, "readings", last)
                position = last
                stats.copied += n
                stats.batches += 1
                say(f"readings: {stats.copied} copied (seq {last}/{source_max}, {timer.seconds:.1f} s)")
        finally:
            chunks.close()
        if rebuild:
            say("readings: building the (device_id, recorded_at, seq) index")
            conn.execute(_schema("telemetry"))
        with conn.transaction():
            stats.deleted += conn.execute("DELETE FROM readings WHERE seq > %s", [source_max]).rowcount
            conn.execute("SELECT setval(pg_get_serial_sequence('readings', 'seq'),"
                         " greatest((SELECT max(seq) FROM readings), 1))")
            _set_checkpoint(conn, "readings", source_max)
    stats.seconds = timer.seconds
    return stats


def _idempotency_mirror(conn, src, stats: CopyStats) -> int:
    written, deleted = _mirror(conn, "idempotency_keys", IDEM_COLS, ("user_id", "key"),
                               _idempotency(src, "readings"), ("body", "headers"))
    stats.deleted += deleted
    return written


# --- verification ------------------------------------------------------------------------------

def _line_user(r) -> tuple:
    return r[0], (r[0],), canonical([r[0], r[1], r[2], to_ms(r[3])])


def _line_device(r) -> tuple:
    return r[1], (r[0],), canonical([*r[:9], to_ms(r[9]), to_ms(r[10])])


def _line_alert(r) -> tuple:
    times = {ALERT_COLS.index(c) for c in ALERT_TIMES} | {len(ALERT_COLS)}
    return r[2], (r[0],), canonical([to_ms(v) if i in times else v for i, v in enumerate(r)])


def _line_idem(r) -> tuple:
    user_id, key, fp, created, status, body, headers = r
    return user_id, ("idem", key), canonical(["idem", key, fp, to_ms(created), status,
                                              json.dumps(body, sort_keys=True),
                                              json.dumps(headers, sort_keys=True)])


def _line_projection(owner_of: dict):
    def line(r):
        snapshot = json.dumps(r[1], sort_keys=True)
        return owner_of.get(r[0], "?"), ("projection", r[0]), canonical(["projection", r[0], snapshot, r[3]])
    return line


def _target_rows(conn, table: str, cols: tuple[str, ...]) -> list[tuple]:
    return [tuple(r) for r in conn.execute(f"SELECT {', '.join(cols)} FROM {table}")]


def _verify_small(group, service, sqlite_path, pg_dsn, parts) -> Verification:
    timer = Timer()
    a, b = OwnerDigests(), OwnerDigests()
    with closing(open_sqlite(sqlite_path)) as src, _target(pg_dsn, service) as conn:
        for source_rows, table, cols, line in parts(src):
            a.add_sorted(map(line, source_rows))
            b.add_sorted(map(line, _target_rows(conn, table, cols)))
    return compare(group, a, b, timer.start)


def verify_identity(sqlite_path, pg_dsn: str) -> Verification:
    """Users: counts and per-user checksums (id, username, password hash, created_at)."""
    return _verify_small("identity", "identity", sqlite_path, pg_dsn, lambda src: [
        (_users(src), "users", USER_COLS, _line_user)])


def verify_devices(sqlite_path, pg_dsn: str) -> Verification:
    """Devices and POST /devices idempotency records, checksummed per owner."""
    return _verify_small("devices", "devices", sqlite_path, pg_dsn, lambda src: [
        (_devices(src), "devices", DEVICE_COLS, _line_device),
        (_idempotency(src, "devices"), "idempotency_keys", IDEM_COLS, _line_idem)])


def verify_alerts(sqlite_path, pg_dsn: str) -> Verification:
    """Alerts with escalation due times, and the device projection, checksummed per owner."""
    def parts(src):
        devices = _devices(src)
        owner_of = {d[0]: d[1] for d in devices}
        return [(_alerts(src), "alerts", ALERT_COLS + ("escalation_due_at",), _line_alert),
                (_projection_rows(devices), "device_projection",
                 ("id", "snapshot", "updated_at", "deleted"), _line_projection(owner_of))]
    return _verify_small("alerts", "alerts", sqlite_path, pg_dsn, parts)


def verify_readings(sqlite_path, pg_dsn: str, *, progress: Progress | None = None) -> Verification:
    """Every reading (seq, value, recorded_at) per device in API order, folded per owner."""
    timer, say = Timer(), progress or quiet
    a, b = DeviceDigests(), DeviceDigests()
    with closing(open_sqlite(sqlite_path)) as src, _target(pg_dsn, "telemetry") as conn:
        owner_of = dict(src.execute("SELECT id, owner_id FROM devices").fetchall())
        for seq, device_id, value, ms in src.execute(
                "SELECT seq, device_id, value, recorded_at FROM readings"
                " ORDER BY device_id, recorded_at, seq"):
            a.add(device_id, reading_line(seq, value, ms))
        say(f"readings: {a.count} source rows hashed ({timer.seconds:.1f} s)")
        with conn.transaction(), conn.cursor(name="verify_readings") as cur:
            cur.itersize = 20_000
            # extract(epoch) is numeric (exact) since PostgreSQL 14.
            cur.execute("SELECT seq, device_id, value, (extract(epoch FROM recorded_at) * 1000)::bigint"
                        " FROM readings ORDER BY device_id, recorded_at, seq")
            for seq, device_id, value, ms in cur:
                b.add(device_id, reading_line(seq, value, ms))
        ia = [_line_idem(r) for r in _idempotency(src, "readings")]
        ib = [_line_idem(tuple(r)) for r in _target_rows(conn, "idempotency_keys", IDEM_COLS)]
    oa, ob = a.by_owner(owner_of), b.by_owner(owner_of)
    oa.add_sorted(ia)
    ob.add_sorted(ib)
    oa.count, ob.count = a.count + len(ia), b.count + len(ib)
    return compare("readings", oa, ob, timer.start)


def pending_outbox(sqlite_path) -> int:
    """Reading batches the monolith accepted but has not evaluated yet (they raise no alert here)."""
    with closing(open_sqlite(sqlite_path)) as src:
        return _pending_outbox(src)


GROUPS = ("identity", "devices", "readings", "alerts")
COPY = {"identity": copy_identity, "devices": copy_devices, "readings": copy_readings,
        "alerts": copy_alerts}
VERIFY = {"identity": verify_identity, "devices": verify_devices, "readings": verify_readings,
          "alerts": verify_alerts}
# The stage 2 service database each group lands in.
DATABASE = {"identity": "identity", "devices": "devices", "readings": "telemetry", "alerts": "alerts"}
