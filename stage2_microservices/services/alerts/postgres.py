"""PostgreSQL adapters of the alerts ports and its unit of work."""

import json
from dataclasses import asdict
from pathlib import Path

from homesense_core.integration_events import device_from_snapshot, device_snapshot
from homesense_core.model import Alert

from stage2_microservices.common.uow import PostgresUnitOfWork

from .ports import ProjectedDevice, AlertRepository, DeviceProjectionRepository


_ALERT_COLUMNS = tuple(Alert.__dataclass_fields__)


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


def schema_sql() -> str:
    """This service's DDL."""
    return Path(__file__).with_name("schema.sql").read_text()
