"""In-memory fakes of every storage port, for fast unit tests."""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterator, Sequence

from homesense_core.model import Alert, Device, Reading, User

from stage1_monolith.adapters import ports


@dataclass
class MemoryStore:
    """The shared state behind every in-memory unit of work."""

    users: dict[str, User] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    readings: list[Reading] = field(default_factory=list)
    alerts: dict[str, Alert] = field(default_factory=dict)
    outbox: dict[int, tuple[ports.OutboxMessage, datetime | None]] = field(default_factory=dict)
    escalations: dict[str, ports.DueEscalation] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], ports.StoredResponse] = field(default_factory=dict)
    next_seq: int = 1
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def snapshot(self) -> dict:
        # Values are frozen dataclasses, so copying the containers is enough.
        return {name: copy.copy(getattr(self, name)) for name in _TABLES} | {"next_seq": self.next_seq}

    def restore(self, snap: dict) -> None:
        for name, value in snap.items():
            setattr(self, name, value)


_TABLES = ("users", "devices", "readings", "alerts", "outbox", "escalations", "idempotency")


class _Repo:
    def __init__(self, store: MemoryStore):
        self.s = store


class MemoryUsers(_Repo, ports.UserRepository):
    def add(self, user: User) -> None:
        if self.get_by_username(user.username) is not None:
            raise ValueError("username taken")
        self.s.users[user.id] = user

    def get(self, user_id: str) -> User | None:
        return self.s.users.get(user_id)

    def get_by_username(self, username: str) -> User | None:
        return next((u for u in self.s.users.values() if u.username == username), None)


class MemoryDevices(_Repo, ports.DeviceRepository):
    def add(self, device: Device) -> None:
        self.s.devices[device.id] = device

    def get(self, device_id: str) -> Device | None:
        return self.s.devices.get(device_id)

    def list_for_owner(self, owner_id, limit, after):
        rows = sorted((d for d in self.s.devices.values() if d.owner_id == owner_id), key=lambda d: (d.created_at, d.id))
        if after is not None:
            rows = [d for d in rows if (d.created_at, d.id) > after]
        return rows[:limit]

    def update(self, device: Device) -> None:
        self.s.devices[device.id] = device

    def delete(self, device_id: str) -> None:
        self.s.devices.pop(device_id, None)


class MemoryReadings(_Repo, ports.ReadingRepository):
    def add_many(self, device_id: str, readings: Sequence[tuple[float, datetime]]) -> list[Reading]:
        stored = []
        for value, recorded_at in readings:
            stored.append(Reading(device_id=device_id, value=value, recorded_at=recorded_at, seq=self.s.next_seq))
            self.s.next_seq += 1
        self.s.readings = self.s.readings + stored
        return stored

    def _select(self, device_id, from_, to):
        return [r for r in self.s.readings if r.device_id == device_id
                and (from_ is None or r.recorded_at >= from_) and (to is None or r.recorded_at < to)]

    def page(self, device_id, from_, to, descending, limit, after):
        rows = sorted(self._select(device_id, from_, to), key=lambda r: (r.recorded_at, r.seq), reverse=descending)
        if after is not None:
            rows = [r for r in rows if ((r.recorded_at, r.seq) < after if descending else (r.recorded_at, r.seq) > after)]
        return rows[:limit]

    def values(self, device_id, from_, to) -> Iterator[tuple[float, datetime]]:
        return iter([(r.value, r.recorded_at) for r in self._select(device_id, from_, to)])

    def delete_for_device(self, device_id: str) -> None:
        self.s.readings = [r for r in self.s.readings if r.device_id != device_id]


class MemoryAlerts(_Repo, ports.AlertRepository):
    def add(self, alert: Alert) -> None:
        self.s.alerts[alert.id] = alert

    def get(self, alert_id: str) -> Alert | None:
        return self.s.alerts.get(alert_id)

    def update(self, alert: Alert) -> None:
        self.s.alerts[alert.id] = alert

    def active_for_device(self, device_id: str) -> list[Alert]:
        rows = [a for a in self.s.alerts.values() if a.device_id == device_id and a.status != "resolved"]
        return sorted(rows, key=lambda a: (a.opened_at, a.id))

    def list_for_owner(self, owner_id, status, device_id, limit, after):
        rows = [a for a in self.s.alerts.values() if a.owner_id == owner_id
                and (status is None or a.status == status) and (device_id is None or a.device_id == device_id)]
        rows.sort(key=lambda a: (a.opened_at, a.id), reverse=True)
        if after is not None:
            rows = [a for a in rows if (a.opened_at, a.id) < after]
        return rows[:limit]

    def delete_for_device(self, device_id: str) -> None:
        self.s.alerts = {k: a for k, a in self.s.alerts.items() if a.device_id != device_id}


class MemoryOutbox(_Repo, ports.OutboxRepository):
    def add(self, topic: str, payload: dict, now: datetime) -> None:
        message_id = max(self.s.outbox, default=0) + 1
        self.s.outbox[message_id] = (ports.OutboxMessage(message_id, topic, copy.deepcopy(payload), now), None)

    def next_pending(self) -> ports.OutboxMessage | None:
        return next((m for _, (m, done) in sorted(self.s.outbox.items()) if done is None), None)

    def mark_done(self, message_id: int, now: datetime) -> None:
        message, _ = self.s.outbox[message_id]
        self.s.outbox[message_id] = (message, now)

    def pending_count(self) -> int:
        return sum(1 for _, done in self.s.outbox.values() if done is None)

    def prune_done(self, before: datetime) -> int:
        old = [k for k, (_, done) in self.s.outbox.items() if done is not None and done < before]
        # Keep the newest id so ids stay increasing, as SQLite's AUTOINCREMENT guarantees.
        newest = max(self.s.outbox, default=None)
        old = [k for k in old if k != newest]
        self.s.outbox = {k: v for k, v in self.s.outbox.items() if k not in set(old)}
        return len(old)


class MemoryEscalations(_Repo, ports.EscalationRepository):
    def schedule(self, alert_id: str, device_id: str, due_at: datetime) -> None:
        self.s.escalations[alert_id] = ports.DueEscalation(alert_id, device_id, due_at)

    def cancel(self, alert_id: str) -> None:
        self.s.escalations.pop(alert_id, None)

    def due(self, now: datetime, limit: int) -> list[ports.DueEscalation]:
        rows = sorted((e for e in self.s.escalations.values() if e.due_at <= now), key=lambda e: (e.due_at, e.alert_id))
        return rows[:limit]

    def for_device(self, device_id: str) -> list[ports.DueEscalation]:
        return sorted((e for e in self.s.escalations.values() if e.device_id == device_id), key=lambda e: e.alert_id)

    def delete_for_device(self, device_id: str) -> None:
        self.s.escalations = {k: e for k, e in self.s.escalations.items() if e.device_id != device_id}


class MemoryIdempotency(_Repo, ports.IdempotencyRepository):
    def get(self, user_id: str, key: str) -> ports.StoredResponse | None:
        return self.s.idempotency.get((user_id, key))

    def put(self, user_id: str, key: str, response: ports.StoredResponse) -> None:
        self.s.idempotency[(user_id, key)] = replace(response, body=copy.deepcopy(response.body))

    def prune(self, before: datetime) -> int:
        old = [k for k, r in self.s.idempotency.items() if r.created_at < before]
        self.s.idempotency = {k: r for k, r in self.s.idempotency.items() if k not in set(old)}
        return len(old)


class MemoryUnitOfWork(ports.UnitOfWork):
    """Serialises transactions with one lock and undoes them from a snapshot."""

    def __init__(self, store: MemoryStore):
        self.store = store
        self.users = MemoryUsers(store)
        self.devices = MemoryDevices(store)
        self.readings = MemoryReadings(store)
        self.alerts = MemoryAlerts(store)
        self.outbox = MemoryOutbox(store)
        self.escalations = MemoryEscalations(store)
        self.idempotency = MemoryIdempotency(store)
        self._snapshot: dict | None = None

    def __enter__(self) -> "MemoryUnitOfWork":
        self.store.lock.acquire()
        self._snapshot = self.store.snapshot()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.rollback()
        finally:
            self.store.lock.release()

    def commit(self) -> None:
        self._snapshot = self.store.snapshot()

    def rollback(self) -> None:
        if self._snapshot is not None:
            self.store.restore(self._snapshot)


class MemoryUnitOfWorkFactory:
    """Makes units of work over one shared in-memory store."""

    def __init__(self, store: MemoryStore | None = None):
        self.store = store or MemoryStore()

    def __call__(self, write: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)
