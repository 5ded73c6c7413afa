"""Alert and device-projection storage ports, in-memory fakes, PostgreSQL adapters, units of work."""

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from homesense_core.integration_events import device_from_snapshot, device_snapshot
from homesense_core.model import ACTIVE_STATUSES, Alert, Device

from stage2_microservices.common.uow import InMemoryUnitOfWork, MemoryState, PostgresUnitOfWork

_ALERT_COLUMNS = tuple(Alert.__dataclass_fields__)
Position = tuple[datetime, str]  # (opened_at, id), newest first


@dataclass(frozen=True)
class ProjectedDevice:
    """What alerts knows about a device; deleted marks a tombstone."""

    device: Device
    deleted: bool


class AlertRepository(ABC):
    """Alerts with their escalation due time."""

    @abstractmethod
    async def get(self, alert_id: str, for_update: bool = False) -> Alert | None:
        """One alert (locked for the transaction when for_update)."""

    @abstractmethod
    async def active_for_device(self, device_id: str) -> list[Alert]:
        """Open or acknowledged alerts of a device."""

    @abstractmethod
    async def save(self, alert: Alert, due_at: datetime | None) -> None:
        """Insert or replace an alert and its escalation due time."""

    @abstractmethod
    async def device_ids(self, owner_id: str) -> set[str]:
        """Ids of the devices that one owner has alerts of."""

    @abstractmethod
    async def page(self, owner_id: str, device_ids: set[str], status: str | None,
                   after: Position | None, limit: int) -> list[Alert]:
        """Newest first, only of the given devices, strictly after the position."""

    @abstractmethod
    async def due(self, now: datetime, limit: int) -> list[Alert]:
        """Alerts whose escalation is due, locked; other schedulers skip them."""

    @abstractmethod
    async def open_for_device(self, device_id: str) -> list[Alert]:
        """Open alerts of a device (their due time depends on the device)."""

    @abstractmethod
    async def delete_for_device(self, device_id: str) -> None:
        """Drop every alert of a device."""


class DeviceProjectionRepository(ABC):
    """Local copy of devices, newest snapshot wins."""

    @abstractmethod
    async def get(self, device_id: str) -> ProjectedDevice | None:
        """The projected device, or None if never seen."""

    @abstractmethod
    async def get_many(self, device_ids: set[str]) -> dict[str, ProjectedDevice]:
        """The projected devices among device_ids, by id; ids never seen are absent."""

    @abstractmethod
    async def upsert(self, device: Device) -> ProjectedDevice:
        """Store the snapshot unless a newer one or a tombstone is there; returns what is stored."""

    @abstractmethod
    async def mark_deleted(self, device: Device) -> None:
        """Tombstone: later events of this device are ignored."""


class InMemoryAlertRepository(AlertRepository):
    """Dict-backed fake: {id: (Alert, due_at)}."""

    def __init__(self, rows: dict):
        self.rows = rows

    def _alerts(self):
        return [a for a, _ in self.rows.values()]

    async def get(self, alert_id, for_update=False):
        row = self.rows.get(alert_id)
        return row[0] if row else None

    async def active_for_device(self, device_id):
        return sorted((a for a in self._alerts() if a.device_id == device_id and a.status in ACTIVE_STATUSES),
                      key=lambda a: a.opened_at)

    async def save(self, alert, due_at):
        self.rows[alert.id] = (alert, due_at)

    async def device_ids(self, owner_id):
        return {a.device_id for a in self._alerts() if a.owner_id == owner_id}

    async def page(self, owner_id, device_ids, status, after, limit):
        rows = sorted((a for a in self._alerts() if a.owner_id == owner_id and a.device_id in device_ids
                       and (status is None or a.status == status)),
                      key=lambda a: (a.opened_at, a.id), reverse=True)
        if after is not None:
            rows = [a for a in rows if (a.opened_at, a.id) < after]
        return rows[:limit]

    async def due(self, now, limit):
        return [a for a, due in self.rows.values() if due is not None and due <= now][:limit]

    async def open_for_device(self, device_id):
        return [a for a in self._alerts() if a.device_id == device_id and a.status == "open"]

    async def delete_for_device(self, device_id):
        for alert_id in [a.id for a in self._alerts() if a.device_id == device_id]:
            del self.rows[alert_id]


class InMemoryDeviceProjection(DeviceProjectionRepository):
    """Dict-backed fake."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def get(self, device_id):
        return self.rows.get(device_id)

    async def get_many(self, device_ids):
        return {i: self.rows[i] for i in device_ids if i in self.rows}

    async def upsert(self, device):
        current = self.rows.get(device.id)
        if current is None or (not current.deleted and device.updated_at >= current.device.updated_at):
            self.rows[device.id] = ProjectedDevice(device, False)
        return self.rows[device.id]

    async def mark_deleted(self, device):
        self.rows[device.id] = ProjectedDevice(device, True)


def _alert(row: dict) -> Alert:
    return Alert(**{c: row[c] for c in _ALERT_COLUMNS})


class PostgresAlertRepository(AlertRepository):
    """SQL over the unit of work's connection."""

    def __init__(self, conn):
        self.conn = conn

    async def _alerts(self, sql, params):
        cur = await self.conn.execute(sql, params)
        return [_alert(row) for row in await cur.fetchall()]

    async def get(self, alert_id, for_update=False):
        lock = " FOR UPDATE" if for_update else ""
        rows = await self._alerts(f"SELECT * FROM alerts WHERE id = %s{lock}", [alert_id])
        return rows[0] if rows else None

    async def active_for_device(self, device_id):
        return await self._alerts(
            "SELECT * FROM alerts WHERE device_id = %s AND status <> 'resolved' ORDER BY opened_at",
            [device_id])

    async def save(self, alert, due_at):
        columns = _ALERT_COLUMNS + ("escalation_due_at",)
        values = asdict(alert) | {"escalation_due_at": due_at}
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
        await self.conn.execute(
            f"INSERT INTO alerts ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}", [values[c] for c in columns])

    async def device_ids(self, owner_id):
        cur = await self.conn.execute("SELECT DISTINCT device_id FROM alerts WHERE owner_id = %s", [owner_id])
        return {row["device_id"] for row in await cur.fetchall()}

    async def page(self, owner_id, device_ids, status, after, limit):
        where, params = "owner_id = %s AND device_id = ANY(%s)", [owner_id, list(device_ids)]
        if status is not None:
            where, params = where + " AND status = %s", params + [status]
        if after is not None:
            where, params = where + " AND (opened_at, id) < (%s, %s)", params + list(after)
        return await self._alerts(
            f"SELECT * FROM alerts WHERE {where} ORDER BY opened_at DESC, id DESC LIMIT %s",
            params + [limit])

    async def due(self, now, limit):
        return await self._alerts(
            "SELECT * FROM alerts WHERE escalation_due_at <= %s ORDER BY escalation_due_at"
            " LIMIT %s FOR UPDATE SKIP LOCKED", [now, limit])

    async def open_for_device(self, device_id):
        return await self._alerts(
            "SELECT * FROM alerts WHERE device_id = %s AND status = 'open' FOR UPDATE", [device_id])

    async def delete_for_device(self, device_id):
        await self.conn.execute("DELETE FROM alerts WHERE device_id = %s", [device_id])


class PostgresDeviceProjection(DeviceProjectionRepository):
    """SQL over the unit of work's connection."""

    def __init__(self, conn):
        self.conn = conn

    async def get(self, device_id):
        cur = await self.conn.execute(
            "SELECT snapshot, deleted FROM device_projection WHERE id = %s", [device_id])
        row = await cur.fetchone()
        return ProjectedDevice(device_from_snapshot(row["snapshot"]), row["deleted"]) if row else None

    async def get_many(self, device_ids):
        if not device_ids:
            return {}  # the escalation poll asks with none on most ticks: spare the round trip
        cur = await self.conn.execute(
            "SELECT id, snapshot, deleted FROM device_projection WHERE id = ANY(%s)", [list(device_ids)])
        return {row["id"]: ProjectedDevice(device_from_snapshot(row["snapshot"]), row["deleted"])
                for row in await cur.fetchall()}

    async def upsert(self, device):
        await self.conn.execute(
            "INSERT INTO device_projection (id, snapshot, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET snapshot = EXCLUDED.snapshot, updated_at = EXCLUDED.updated_at"
            " WHERE NOT device_projection.deleted AND device_projection.updated_at <= EXCLUDED.updated_at",
            [device.id, json.dumps(device_snapshot(device)), device.updated_at])
        return await self.get(device.id)

    async def mark_deleted(self, device):
        await self.conn.execute(
            "INSERT INTO device_projection (id, snapshot, updated_at, deleted) VALUES (%s, %s, %s, true)"
            " ON CONFLICT (id) DO UPDATE SET deleted = true",
            [device.id, json.dumps(device_snapshot(device)), device.updated_at])


class PostgresAlertsUnitOfWork(PostgresUnitOfWork):
    """A transaction with .alerts and .devices."""

    async def _begin(self):
        await super()._begin()
        self.alerts = PostgresAlertRepository(self.conn)
        self.devices = PostgresDeviceProjection(self.conn)


class InMemoryAlertsUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .alerts and .devices."""

    async def _begin(self):
        await super()._begin()
        self.alerts = InMemoryAlertRepository(self.tables["alerts"])
        self.devices = InMemoryDeviceProjection(self.tables["devices"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(alerts={}, devices={})


def schema_sql() -> str:
    """This service's DDL."""
    return Path(__file__).with_name("schema.sql").read_text()
