"""SQLAlchemy implementations of the storage ports (SQLite)."""
from __future__ import annotations

import json
import threading
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Iterator, Sequence

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import OperationalError

from homesense_core.model import Alert, Device, Reading, User

from stage1_monolith.adapters import ports
from stage1_monolith.adapters import tables as t

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def to_ms(dt: datetime | None) -> int | None:
    return None if dt is None else (dt - EPOCH) // _MS


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else EPOCH + ms * _MS


_DEVICE_TIMES = ("created_at", "updated_at")
_ALERT_TIMES = ("opened_at", "acknowledged_at", "resolved_at", "escalated_at", "updated_at")


def _row_to(cls, row, time_fields):
    values = dict(row._mapping)
    for name in time_fields:
        values[name] = from_ms(values[name])
    return cls(**values)


def _to_row(obj, time_fields) -> dict:
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    for name in time_fields:
        values[name] = to_ms(values[name])
    return values


def _upsert(table):
    """INSERT that replaces the row with the same primary key: one statement, not delete + insert."""
    return insert(table).prefix_with("OR REPLACE")


class _Repo:
    def __init__(self, conn: Connection):
        self.c = conn


class SqlUsers(_Repo, ports.UserRepository):
    def add(self, user: User) -> None:
        self.c.execute(insert(t.users).values(_to_row(user, ("created_at",))))

    def get(self, user_id: str) -> User | None:
        row = self.c.execute(select(t.users).where(t.users.c.id == user_id)).first()
        return row and _row_to(User, row, ("created_at",))

    def get_by_username(self, username: str) -> User | None:
        row = self.c.execute(select(t.users).where(t.users.c.username == username)).first()
        return row and _row_to(User, row, ("created_at",))


class SqlDevices(_Repo, ports.DeviceRepository):
    def add(self, device: Device) -> None:
        self.c.execute(insert(t.devices).values(_to_row(device, _DEVICE_TIMES)))

    def get(self, device_id: str) -> Device | None:
        row = self.c.execute(select(t.devices).where(t.devices.c.id == device_id)).first()
        return row and _row_to(Device, row, _DEVICE_TIMES)

    def list_for_owner(self, owner_id, limit, after):
        d = t.devices.c
        query = select(t.devices).where(d.owner_id == owner_id)
        if after is not None:
            query = query.where(tuple_(d.created_at, d.id) > tuple_(to_ms(after[0]), after[1]))
        query = query.order_by(d.created_at, d.id).limit(limit)
        return [_row_to(Device, row, _DEVICE_TIMES) for row in self.c.execute(query)]

    def update(self, device: Device) -> None:
        self.c.execute(update(t.devices).where(t.devices.c.id == device.id).values(_to_row(device, _DEVICE_TIMES)))

    def delete(self, device_id: str) -> None:
        self.c.execute(delete(t.devices).where(t.devices.c.id == device_id))


class SqlReadings(_Repo, ports.ReadingRepository):
    def add_many(self, device_id: str, readings: Sequence[tuple[float, datetime]]) -> list[Reading]:
        if not readings:
            return []
        # One multi-row INSERT ... RETURNING (SQLAlchemy's insertmanyvalues) instead of an INSERT per
        # row: 500 readings took ~200 ms of statement building, now ~8 ms. sort_by_parameter_order
        # pairs each seq with its row, and rows get ascending seqs in array order (the evaluation order).
        stmt = insert(t.readings).returning(t.readings.c.seq, sort_by_parameter_order=True)
        seqs = self.c.execute(stmt, [{"device_id": device_id, "value": value, "recorded_at": to_ms(recorded_at)}
                                     for value, recorded_at in readings]).scalars().all()
        return [Reading(device_id=device_id, value=value, recorded_at=recorded_at, seq=seq)
                for (value, recorded_at), seq in zip(readings, seqs)]

    def _range(self, query, device_id, from_, to):
        r = t.readings.c
        query = query.where(r.device_id == device_id)
        if from_ is not None:
            query = query.where(r.recorded_at >= to_ms(from_))
        if to is not None:
            query = query.where(r.recorded_at < to_ms(to))
        return query

    def page(self, device_id, from_, to, descending, limit, after):
        r = t.readings.c
        query = self._range(select(r.device_id, r.value, r.recorded_at, r.seq), device_id, from_, to)
        if after is not None:
            position = tuple_(to_ms(after[0]), after[1])
            query = query.where(tuple_(r.recorded_at, r.seq) < position if descending else tuple_(r.recorded_at, r.seq) > position)
        order = (r.recorded_at.desc(), r.seq.desc()) if descending else (r.recorded_at, r.seq)
        rows = self.c.execute(query.order_by(*order).limit(limit))
        return [Reading(device_id=row.device_id, value=row.value, recorded_at=from_ms(row.recorded_at), seq=row.seq) for row in rows]

    def values(self, device_id, from_, to) -> Iterator[tuple[float, datetime]]:
        r = t.readings.c
        query = self._range(select(r.value, r.recorded_at), device_id, from_, to).order_by(r.recorded_at, r.seq)
        for row in self.c.execute(query):
            yield row.value, from_ms(row.recorded_at)

    def delete_for_device(self, device_id: str) -> None:
        self.c.execute(delete(t.readings).where(t.readings.c.device_id == device_id))


class SqlAlerts(_Repo, ports.AlertRepository):
    def add(self, alert: Alert) -> None:
        self.c.execute(insert(t.alerts).values(_to_row(alert, _ALERT_TIMES)))

    def get(self, alert_id: str) -> Alert | None:
        row = self.c.execute(select(t.alerts).where(t.alerts.c.id == alert_id)).first()
        return row and _row_to(Alert, row, _ALERT_TIMES)

    def update(self, alert: Alert) -> None:
        self.c.execute(update(t.alerts).where(t.alerts.c.id == alert.id).values(_to_row(alert, _ALERT_TIMES)))

    def active_for_device(self, device_id: str) -> list[Alert]:
        a = t.alerts.c
        query = select(t.alerts).where(a.device_id == device_id, a.status != "resolved").order_by(a.opened_at, a.id)
        return [_row_to(Alert, row, _ALERT_TIMES) for row in self.c.execute(query)]

    def list_for_owner(self, owner_id, status, device_id, limit, after):
        a = t.alerts.c
        query = select(t.alerts).where(a.owner_id == owner_id)
        if status is not None:
            query = query.where(a.status == status)
        if device_id is not None:
            query = query.where(a.device_id == device_id)
        if after is not None:
            query = query.where(tuple_(a.opened_at, a.id) < tuple_(to_ms(after[0]), after[1]))
        query = query.order_by(a.opened_at.desc(), a.id.desc()).limit(limit)
        return [_row_to(Alert, row, _ALERT_TIMES) for row in self.c.execute(query)]

    def delete_for_device(self, device_id: str) -> None:
        self.c.execute(delete(t.alerts).where(t.alerts.c.device_id == device_id))


class SqlOutbox(_Repo, ports.OutboxRepository):
    def add(self, topic: str, payload: dict, now: datetime) -> None:
        self.c.execute(insert(t.outbox).values(topic=topic, payload=json.dumps(payload), created_at=to_ms(now)))

    def next_pending(self) -> ports.OutboxMessage | None:
        o = t.outbox.c
        row = self.c.execute(select(t.outbox).where(o.processed_at.is_(None)).order_by(o.id).limit(1)).first()
        if row is None:
            return None
        return ports.OutboxMessage(row.id, row.topic, json.loads(row.payload), from_ms(row.created_at))

    def mark_done(self, message_id: int, now: datetime) -> None:
        self.c.execute(update(t.outbox).where(t.outbox.c.id == message_id).values(processed_at=to_ms(now)))

    def pending_count(self) -> int:
        return self.c.execute(select(func.count()).select_from(t.outbox).where(t.outbox.c.processed_at.is_(None))).scalar_one()

    def prune_done(self, before: datetime) -> int:
        o = t.outbox.c
        return self.c.execute(delete(t.outbox).where(o.processed_at.is_not(None), o.processed_at < to_ms(before))).rowcount


class SqlEscalations(_Repo, ports.EscalationRepository):
    def schedule(self, alert_id: str, device_id: str, due_at: datetime) -> None:
        self.c.execute(_upsert(t.escalations).values(alert_id=alert_id, device_id=device_id, due_at=to_ms(due_at)))

    def cancel(self, alert_id: str) -> None:
        self.c.execute(delete(t.escalations).where(t.escalations.c.alert_id == alert_id))

    def _rows(self, query) -> list[ports.DueEscalation]:
        return [ports.DueEscalation(row.alert_id, row.device_id, from_ms(row.due_at)) for row in self.c.execute(query)]

    def due(self, now: datetime, limit: int) -> list[ports.DueEscalation]:
        e = t.escalations.c
        return self._rows(select(t.escalations).where(e.due_at <= to_ms(now)).order_by(e.due_at, e.alert_id).limit(limit))

    def for_device(self, device_id: str) -> list[ports.DueEscalation]:
        e = t.escalations.c
        return self._rows(select(t.escalations).where(e.device_id == device_id).order_by(e.alert_id))

    def delete_for_device(self, device_id: str) -> None:
        self.c.execute(delete(t.escalations).where(t.escalations.c.device_id == device_id))


class SqlIdempotency(_Repo, ports.IdempotencyRepository):
    def get(self, user_id: str, key: str) -> ports.StoredResponse | None:
        i = t.idempotency.c
        row = self.c.execute(select(t.idempotency).where(and_(i.user_id == user_id, i.key == key))).first()
        if row is None:
            return None
        return ports.StoredResponse(row.fingerprint, row.status, json.loads(row.body), row.location, from_ms(row.created_at))

    def put(self, user_id: str, key: str, response: ports.StoredResponse) -> None:
        self.c.execute(_upsert(t.idempotency).values(
            user_id=user_id, key=key, fingerprint=response.fingerprint, status=response.status,
            body=json.dumps(response.body), location=response.location, created_at=to_ms(response.created_at)))

    def prune(self, before: datetime) -> int:
        return self.c.execute(delete(t.idempotency).where(t.idempotency.c.created_at < to_ms(before))).rowcount


class SqlUnitOfWork(ports.UnitOfWork):
    """One SQLite transaction; writers are serialised in-process to avoid SQLITE_BUSY waits."""

    def __init__(self, engine: Engine, write_lock: threading.Lock, write: bool):
        self._engine = engine
        self._lock = write_lock
        self._write = write
        self._conn: Connection | None = None

    def __enter__(self) -> "SqlUnitOfWork":
        if self._write:
            self._lock.acquire()
        try:
            self._conn = self._engine.connect()
            self._conn.execution_options(sqlite_begin="IMMEDIATE" if self._write else "DEFERRED")
            self._conn.begin()
        except BaseException as exc:
            if self._conn is not None:
                self._conn.close()
            if self._write:
                self._lock.release()
            if isinstance(exc, OperationalError):
                raise ports.StorageUnavailable(str(exc.orig)) from exc
            raise
        conn = self._conn
        self.users, self.devices, self.readings = SqlUsers(conn), SqlDevices(conn), SqlReadings(conn)
        self.alerts, self.outbox, self.escalations = SqlAlerts(conn), SqlOutbox(conn), SqlEscalations(conn)
        self.idempotency = SqlIdempotency(conn)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.rollback()
            self._conn.close()
        finally:
            if self._write:
                self._lock.release()

    def commit(self) -> None:
        try:
            self._conn.commit()
        except OperationalError as exc:
            raise ports.StorageUnavailable(str(exc.orig)) from exc

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()


class SqlUnitOfWorkFactory:
    """Makes units of work on one engine; `write=True` for anything that changes data."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._write_lock = threading.Lock()

    def __call__(self, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._write_lock, write)
