"""PostgreSQL adapters of the devices ports and its unit of work."""

from dataclasses import asdict
from pathlib import Path

from homesense_core.model import Device

from stage2_microservices.common.uow import PostgresUnitOfWork

from .ports import DeviceRepository


_COLUMNS = ("id", "owner_id", "name", "room", "kind", "unit", "low_threshold", "high_threshold",
            "escalation_after_seconds", "created_at", "updated_at")


class PostgresDeviceRepository(DeviceRepository):
    """SQL over the unit of work's connection."""

    def __init__(self, conn):
        self.conn = conn

    async def _rows(self, sql, params):
        cur = await self.conn.execute(sql, params)
        return [Device(**row) for row in await cur.fetchall()]

    async def get(self, device_id):
        rows = await self._rows("SELECT * FROM devices WHERE id = %s", [device_id])
        return rows[0] if rows else None

    async def page(self, owner_id, after, limit):
        if after is None:
            return await self._rows(
                "SELECT * FROM devices WHERE owner_id = %s ORDER BY created_at, id LIMIT %s",
                [owner_id, limit])
        return await self._rows(
            "SELECT * FROM devices WHERE owner_id = %s AND (created_at, id) > (%s, %s)"
            " ORDER BY created_at, id LIMIT %s", [owner_id, after[0], after[1], limit])

    async def add(self, device):
        await self.conn.execute(
            f"INSERT INTO devices ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})",
            [asdict(device)[c] for c in _COLUMNS])

    async def update(self, device):
        sets = ", ".join(f"{c} = %s" for c in _COLUMNS[1:])
        values = asdict(device)
        await self.conn.execute(f"UPDATE devices SET {sets} WHERE id = %s",
                                [values[c] for c in _COLUMNS[1:]] + [device.id])

    async def delete(self, device_id):
        await self.conn.execute("DELETE FROM devices WHERE id = %s", [device_id])


class PostgresDevicesUnitOfWork(PostgresUnitOfWork):
    """A transaction with .devices."""

    async def _begin(self):
        await super()._begin()
        self.devices = PostgresDeviceRepository(self.conn)


def schema_sql() -> str:
    """This service's DDL."""
    return (Path(__file__).with_name("schema.sql")).read_text()
