"""What every data move shares: copy statistics, verification results, per-owner checksums.

A checksum is computed on both sides over the same canonical form, so a store's own
representation (SQLite int milliseconds, PostgreSQL timestamptz, DynamoDB RFC 3339 strings and
float reprs) never decides equality: every row is normalised to JSON with integer-millisecond
timestamps and Python floats, sorted by the group's key, hashed per owner.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

Progress = Callable[[str], None]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
# How many mismatching owners a JSON report names (the object keeps them all).
REPORTED_MISMATCHES = 50


def quiet(_message: str) -> None:
    """The default progress sink."""


def to_ms(dt: datetime | None) -> int | None:
    """A timezone-aware datetime as integer milliseconds since the epoch (stage 1's form)."""
    return None if dt is None else (dt - EPOCH) // _MS


def from_ms(ms: int | None) -> datetime | None:
    """Inverse of to_ms."""
    return None if ms is None else EPOCH + ms * _MS


def canonical(values: Iterable) -> str:
    """One row as compact JSON; floats by repr, so equal floats give equal text on both sides."""
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False, allow_nan=True)


@dataclass
class CopyStats:
    """What one copy did; rerunning a finished copy writes the same rows again (or none)."""

    group: str
    copied: int = 0
    deleted: int = 0
    batches: int = 0
    resumed_from: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"group": self.group, "copied": self.copied, "deleted": self.deleted,
                "batches": self.batches, "resumed_from": self.resumed_from,
                "seconds": round(self.seconds, 3), "notes": self.notes}


@dataclass
class Verification:
    """Counts on both sides and the owners whose checksums differ; ok only if both agree."""

    group: str
    source_count: int
    target_count: int
    owners_checked: int
    mismatches: list[str]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.source_count == self.target_count and not self.mismatches

    def to_json(self) -> dict:
        return {"source_count": self.source_count, "target_count": self.target_count,
                "owners_checked": self.owners_checked,
                "mismatches": self.mismatches[:REPORTED_MISMATCHES]}


class OwnerDigests:
    """Per-owner SHA-256 over canonical rows; rows of one owner must arrive in canonical order."""

    def __init__(self):
        self.count = 0
        self._hashes: dict[str, "hashlib._Hash"] = {}

    def add(self, owner: str, line: str) -> None:
        h = self._hashes.get(owner)
        if h is None:
            h = self._hashes[owner] = hashlib.sha256()
        h.update(line.encode("utf-8", "surrogatepass"))
        h.update(b"\n")
        self.count += 1

    def add_sorted(self, rows: Iterable[tuple[str, tuple, str]]) -> "OwnerDigests":
        """rows of (owner, sort key, canonical line) in any order."""
        for owner, _key, line in sorted(rows, key=lambda r: (r[0], r[1])):
            self.add(owner, line)
        return self

    def digests(self) -> dict[str, str]:
        return {owner: h.hexdigest() for owner, h in self._hashes.items()}


def compare(group: str, source: OwnerDigests, target: OwnerDigests, started: float) -> Verification:
    """The verification of one group from the digests of both sides."""
    a, b = source.digests(), target.digests()
    owners = sorted(a.keys() | b.keys())
    mismatches = [o for o in owners if a.get(o) != b.get(o)]
    return Verification(group, source.count, target.count, len(owners), mismatches,
                        time.monotonic() - started)


class DeviceDigests:
    """Readings hashed per device in (recorded_at, seq) order, then folded into per-owner digests.

    Hashing per device lets both sides stream rows in their own index order (no sort of a
    million rows by owner); the owner digest covers every device's count and digest.
    """

    def __init__(self):
        self.count = 0
        self._devices: dict[str, list] = {}

    def add(self, device_id: str, line: str) -> None:
        entry = self._devices.get(device_id)
        if entry is None:
            entry = self._devices[device_id] = [0, hashlib.sha256()]
        entry[0] += 1
        entry[1].update(line.encode())
        entry[1].update(b"\n")
        self.count += 1

    def by_owner(self, owner_of: dict[str, str]) -> OwnerDigests:
        """Per-owner digests; a device nobody owns counts under the owner "?" (always a mismatch)."""
        out = OwnerDigests()
        rows = [(owner_of.get(d, "?"), (d,), canonical([d, n, h.hexdigest()]))
                for d, (n, h) in self._devices.items()]
        out.add_sorted(rows)
        out.count = self.count
        return out


def reading_line(seq: int, value: float, recorded_ms: int) -> str:
    """The canonical form of one reading (its device is the digest it goes into)."""
    return f"[{seq},{value!r},{recorded_ms}]"


class Timer:
    """Seconds since creation."""

    def __init__(self):
        self.start = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start
