"""Reading storage port with an in-memory fake and a PostgreSQL adapter, and their units of work."""

from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path

from homesense_core.model import Reading

from stage2_microservices.common.uow import InMemoryUnitOfWork, MemoryState, PostgresUnitOfWork

Position = tuple[datetime, int]  # (recorded_at, seq)


class ReadingRepository(ABC):
    """Readings of every device."""

    @abstractmethod
    async def add(self, device_id: str, items: list[tuple[float, datetime]]) -> list[Reading]:
        """Store a batch in array order; seq grows with acceptance order."""

    @abstractmethod
    async def page(self, device_id: str, start: datetime | None, end: datetime | None,
                   descending: bool, after: Position | None, limit: int) -> list[Reading]:
        """Readings in [start, end) ordered by (recorded_at, seq), strictly after the position."""

    @abstractmethod
    async def values(self, device_id: str, start: datetime | None, end: datetime | None
                     ) -> list[tuple[float, datetime]]:
        """(value, recorded_at) pairs in [start, end), for the summary."""

    @abstractmethod
    async def delete_device(self, device_id: str) -> None:
        """Forget every reading of a device."""


def _in_range(r: Reading, start, end) -> bool:
    return (start is None or r.recorded_at >= start) and (end is None or r.recorded_at < end)


class InMemoryReadingRepository(ReadingRepository):
    """List-backed fake."""

    def __init__(self, table: dict):
        self.table = table  # {"rows": [Reading], "next_seq": int}

    async def add(self, device_id, items):
        stored = []
        for value, recorded_at in items:
            self.table["next_seq"] += 1
            stored.append(Reading(device_id, value, recorded_at, self.table["next_seq"]))
        self.table["rows"].extend(stored)
        return stored

    async def page(self, device_id, start, end, descending, after, limit):
        rows = sorted((r for r in self.table["rows"] if r.device_id == device_id and _in_range(r, start, end)),
                      key=lambda r: (r.recorded_at, r.seq), reverse=descending)
        if after is not None:
            rows = [r for r in rows if ((r.recorded_at, r.seq) < after if descending
                                        else (r.recorded_at, r.seq) > after)]
        return rows[:limit]

    async def values(self, device_id, start, end):
        return [(r.value, r.recorded_at) for r in self.table["rows"]
                if r.device_id == device_id and _in_range(r, start, end)]

    async def delete_device(self, device_id):
        self.table["rows"] = [r for r in self.table["rows"] if r.device_id != device_id]


class PostgresReadingRepository(ReadingRepository):
    """SQL over the unit of work's connection."""

    def __init__(self, conn):
        self.conn = conn

    async def add(self, device_id, items):
        # Reserve the sequence numbers first so array order is acceptance order, then bulk insert.
        cur = await self.conn.execute(
            "SELECT nextval(pg_get_serial_sequence('readings', 'seq')) AS seq"
            " FROM generate_series(1, %s)", [len(items)])
        seqs = sorted(row["seq"] for row in await cur.fetchall())
        await self.conn.execute(
            "INSERT INTO readings (seq, device_id, value, recorded_at)"
            " SELECT s, %s, v, t FROM unnest(%s::bigint[], %s::float8[], %s::timestamptz[]) AS x(s, v, t)",
            [device_id, seqs, [v for v, _ in items], [t for _, t in items]])
        return [Reading(device_id, v, t, s) for (v, t), s in zip(items, seqs)]

    @staticmethod
    def _range(start, end) -> tuple[str, list]:
        sql, params = "", []
        if start is not None:
            sql, params = sql + " AND recorded_at >= %s", params + [start]
        if end is not None:
            sql, params = sql + " AND recorded_at < %s", params + [end]
        return sql, params

    async def page(self, device_id, start, end, descending, after, limit):
        where, params = self._range(start, end)
        if after is not None:
            where += " AND (recorded_at, seq) < (%s, %s)" if descending else " AND (recorded_at, seq) > (%s, %s)"
            params += list(after)
        order = "DESC" if descending else "ASC"
        cur = await self.conn.execute(
            f"SELECT device_id, value, recorded_at, seq FROM readings WHERE device_id = %s{where}"
            f" ORDER BY recorded_at {order}, seq {order} LIMIT %s", [device_id, *params, limit])
        return [Reading(**row) for row in await cur.fetchall()]

    async def values(self, device_id, start, end):
        where, params = self._range(start, end)
        cur = await self.conn.execute(
            f"SELECT value, recorded_at FROM readings WHERE device_id = %s{where}", [device_id, *params])
        return [(row["value"], row["recorded_at"]) for row in await cur.fetchall()]

    async def delete_device(self, device_id):
        await self.conn.execute("DELETE FROM readings WHERE device_id = %s", [device_id])


class PostgresTelemetryUnitOfWork(PostgresUnitOfWork):
    """A transaction with .readings."""

    async def _begin(self):
        await super()._begin()
        self.readings = PostgresReadingRepository(self.conn)


class InMemoryTelemetryUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .readings."""

    async def _begin(self):
        await super()._begin()
        self.readings = InMemoryReadingRepository(self.tables["readings"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(readings={"rows": [], "next_seq": 0})


def schema_sql() -> str:
    """This service's DDL."""
    return Path(__file__).with_name("schema.sql").read_text()
