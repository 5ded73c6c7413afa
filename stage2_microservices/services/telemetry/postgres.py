"""PostgreSQL adapters of the telemetry ports and its unit of work."""

from pathlib import Path

from homesense_core.model import Reading

from stage2_microservices.common.uow import PostgresUnitOfWork

from .ports import ReadingRepository


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


def schema_sql() -> str:
    """This service's DDL."""
    return Path(__file__).with_name("schema.sql").read_text()
