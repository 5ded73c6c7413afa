"""Device storage port with an in-memory fake and a PostgreSQL adapter, and their units of work."""

from abc import ABC, abstractmethod
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from homesense_core.model import Device

from stage2_microservices.common.uow import (InMemoryUnitOfWork, MemoryState,
                                              PostgresUnitOfWork)

_COLUMNS = ("id", "owner_id", "name", "room", "kind", "unit", "low_threshold", "high_threshold",
            "escalation_after_seconds", "created_at", "updated_at")


class DeviceRepository(ABC):
    """Devices of every owner."""

    @abstractmethod
    async def get(self, device_id: str) -> Device | None:
        """A device by id, any owner."""

    @abstractmethod
    async def page(self, owner_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Device]:
        """Oldest first, strictly after the (created_at, id) position."""

    @abstractmethod
    async def add(self, device: Device) -> None:
        """Insert a new device."""

    @abstractmethod
    async def update(self, device: Device) -> None:
        """Replace a stored device."""

    @abstractmethod
    async def delete(self, device_id: str) -> None:
        """Remove a device."""


class InMemoryDeviceRepository(DeviceRepository):
    """Dict-backed fake over the unit of work's copy of the tables."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def get(self, device_id):
        return self.rows.get(device_id)

    async def page(self, owner_id, after, limit):
        mine = sorted((d for d in self.rows.values() if d.owner_id == owner_id),
                      key=lambda d: (d.created_at, d.id))
        if after is not None:
            mine = [d for d in mine if (d.created_at, d.id) > after]
        return mine[:limit]

    async def add(self, device):
        self.rows[device.id] = device

    async def update(self, device):
        self.rows[device.id] = device

    async def delete(self, device_id):
        self.rows.pop(device_id, None)


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


class InMemoryDevicesUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .devices."""

    async def _begin(self):
        await super()._begin()
        self.devices = InMemoryDeviceRepository(self.tables["devices"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(devices={})


def schema_sql() -> str:
    """This service's DDL."""
    return (Path(__file__).with_name("schema.sql")).read_text()

