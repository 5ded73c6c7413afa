"""Storage ports: abstract repositories and the unit of work that groups them."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Sequence

from homesense_core.model import Alert, Device, Reading, User


class StorageUnavailable(Exception):
    """The database cannot be reached or is locked: the request may be retried (503)."""


@dataclass(frozen=True)
class OutboxMessage:
    """One event waiting to be handled by the outbox worker."""

    id: int
    topic: str
    payload: dict
    created_at: datetime


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a request made with an Idempotency-Key."""

    fingerprint: str
    status: int
    body: dict
    location: str | None
    created_at: datetime


@dataclass(frozen=True)
class DueEscalation:
    """An open alert whose escalation check is due at `due_at`."""

    alert_id: str
    device_id: str
    due_at: datetime


class UserRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, user: User) -> None: ...

    @abc.abstractmethod
    def get(self, user_id: str) -> User | None: ...

    @abc.abstractmethod
    def get_by_username(self, username: str) -> User | None: ...


class DeviceRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, device: Device) -> None: ...

    @abc.abstractmethod
    def get(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    def list_for_owner(self, owner_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Device]:
        """Oldest first, strictly after the (created_at, id) keyset position."""

    @abc.abstractmethod
    def update(self, device: Device) -> None: ...

    @abc.abstractmethod
    def delete(self, device_id: str) -> None: ...


class ReadingRepository(abc.ABC):
    @abc.abstractmethod
    def add_many(self, device_id: str, readings: Sequence[tuple[float, datetime]]) -> list[Reading]:
        """Store in array order; returns readings with their acceptance sequence."""

    @abc.abstractmethod
    def page(self, device_id: str, from_: datetime | None, to: datetime | None, descending: bool,
             limit: int, after: tuple[datetime, int] | None) -> list[Reading]:
        """Ordered by (recorded_at, seq), strictly past the keyset position `after`."""

    @abc.abstractmethod
    def values(self, device_id: str, from_: datetime | None, to: datetime | None) -> Iterator[tuple[float, datetime]]: ...

    @abc.abstractmethod
    def delete_for_device(self, device_id: str) -> None: ...


class AlertRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, alert: Alert) -> None: ...

    @abc.abstractmethod
    def get(self, alert_id: str) -> Alert | None: ...

    @abc.abstractmethod
    def update(self, alert: Alert) -> None: ...

    @abc.abstractmethod
    def active_for_device(self, device_id: str) -> list[Alert]:
        """Open or acknowledged alerts of a device, oldest first."""

    @abc.abstractmethod
    def list_for_owner(self, owner_id: str, status: str | None, device_id: str | None, limit: int,
                       after: tuple[datetime, str] | None) -> list[Alert]:
        """Newest first by (opened_at, id), strictly before the keyset position `after`."""

    @abc.abstractmethod
    def delete_for_device(self, device_id: str) -> None: ...


class OutboxRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, topic: str, payload: dict, now: datetime) -> None: ...

    @abc.abstractmethod
    def next_pending(self) -> OutboxMessage | None:
        """The oldest message not yet done (acceptance order)."""

    @abc.abstractmethod
    def mark_done(self, message_id: int, now: datetime) -> None: ...

    @abc.abstractmethod
    def pending_count(self) -> int: ...

    @abc.abstractmethod
    def prune_done(self, before: datetime) -> int:
        """Delete messages handled before `before`; how many went."""


class EscalationRepository(abc.ABC):
    @abc.abstractmethod
    def schedule(self, alert_id: str, device_id: str, due_at: datetime) -> None:
        """Insert or move the due time of an alert's escalation check."""

    @abc.abstractmethod
    def cancel(self, alert_id: str) -> None: ...

    @abc.abstractmethod
    def due(self, now: datetime, limit: int) -> list[DueEscalation]: ...

    @abc.abstractmethod
    def for_device(self, device_id: str) -> list[DueEscalation]: ...

    @abc.abstractmethod
    def delete_for_device(self, device_id: str) -> None: ...


class IdempotencyRepository(abc.ABC):
    @abc.abstractmethod
    def get(self, user_id: str, key: str) -> StoredResponse | None: ...

    @abc.abstractmethod
    def put(self, user_id: str, key: str, response: StoredResponse) -> None:
        """Insert or replace (an expired record is replaced)."""

    @abc.abstractmethod
    def prune(self, before: datetime) -> int:
        """Delete records created before `before`; how many went."""


class UnitOfWork(abc.ABC):
    """One transaction over every repository; rolled back unless committed."""

    users: UserRepository
    devices: DeviceRepository
    readings: ReadingRepository
    alerts: AlertRepository
    outbox: OutboxRepository
    escalations: EscalationRepository
    idempotency: IdempotencyRepository

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
