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
