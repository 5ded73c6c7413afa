"""Ports: what the services need from storage and from AWS, as abstract bases."""

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from homesense_core.http import Result
from homesense_core.integration_events import ReadingsAccepted
from homesense_core.model import Alert, Device, Reading, User
from homesense_core.tokens import SigningKey


# A claimed Idempotency-Key whose request never finished is free again after this long
# (longer than the API function's timeout).
PENDING_SECONDS = 60


@dataclass(frozen=True)
class IdempotencyRecord:
    """A claimed key: its fingerprint and, once the request finished, its response."""

    fingerprint: str
    response: Result | None


@dataclass(frozen=True)
class Connection:
    """An open WebSocket connection and the callback endpoint that reaches it."""

    connection_id: str
    user_id: str
    endpoint: str


class UserRepository(abc.ABC):
    """Accounts, with usernames unique."""

    @abc.abstractmethod
    def add(self, user: User) -> None:
        """Store a new user; Conflict when the username is taken."""

    @abc.abstractmethod
    def get(self, user_id: str) -> User | None:
        """The user with this id."""

    @abc.abstractmethod
    def get_by_username(self, username: str) -> User | None:
        """The user with this username."""


class DeviceRepository(abc.ABC):
    """Devices of each owner; ids are time-ordered, so id order is creation order."""

    @abc.abstractmethod
    def add(self, device: Device) -> None:
        """Store a new device."""

    @abc.abstractmethod
    def get(self, owner_id: str, device_id: str) -> Device | None:
        """The owner's device, or None (also for another owner's device)."""

    @abc.abstractmethod
    def list_for_owner(self, owner_id: str, limit: int, after_id: str | None) -> list[Device]:
        """Oldest first, strictly after after_id."""

    @abc.abstractmethod
    def update(self, device: Device) -> bool:
        """Replace the editable fields; False when the device is gone."""

    @abc.abstractmethod
    def delete(self, owner_id: str, device_id: str) -> bool:
        """Remove the device; False when it did not exist."""

    @abc.abstractmethod
    def reserve_seqs(self, owner_id: str, device_id: str, count: int) -> int | None:
        """First of `count` new acceptance sequence numbers, or None when the device is gone."""


class ReadingRepository(abc.ABC):
    """Readings per device ordered by (recorded_at, seq), plus the batch events that feed alerts."""

    @abc.abstractmethod
    def add(self, event: ReadingsAccepted) -> None:
        """Store the batch's readings, then the event itself for the alert evaluator."""

    @abc.abstractmethod
    def page(self, device_id: str, from_: datetime | None, to: datetime | None, descending: bool,
             limit: int, after: tuple[datetime, int] | None) -> list[Reading]:
        """One page in (recorded_at, seq) order, strictly past the keyset position after."""

    @abc.abstractmethod
    def scan(self, device_id: str, from_: datetime | None, to: datetime | None) -> Iterator[Reading]:
        """Every reading in [from_, to), in (recorded_at, seq) order."""

    def values(self, device_id: str, from_: datetime | None, to: datetime | None) -> Iterator[tuple[float, datetime]]:
        """(value, recorded_at) of every reading in [from_, to), for the summary."""
        return ((r.value, r.recorded_at) for r in self.scan(device_id, from_, to))

    @abc.abstractmethod
    def delete_all(self, device_id: str) -> None:
        """Forget every reading and pending event of a device."""

    @abc.abstractmethod
    def batch_evaluated(self, device_id: str, first_seq: int) -> bool:
        """True once mark_evaluated was called for this batch."""

    @abc.abstractmethod
    def mark_evaluated(self, device_id: str, first_seq: int) -> None:
        """Remember that the alert rule has seen this batch (a retried stream batch skips it)."""


class AlertRepository(abc.ABC):
    """Alerts; at most one active alert per device and kind."""

    @abc.abstractmethod
    def get(self, alert_id: str) -> Alert | None:
        """The alert with this id."""

    @abc.abstractmethod
    def active_for_device(self, device_id: str) -> list[Alert]:
        """Open and acknowledged alerts of a device."""

    @abc.abstractmethod
    def open(self, alert: Alert, escalation_after_seconds: int) -> bool:
        """Insert a new open alert; False when the device already has an active one of its kind."""

    @abc.abstractmethod
    def save(self, before: Alert, after: Alert) -> bool:
        """Write the fields that changed, only if status and level are still before's; else False."""

    @abc.abstractmethod
    def list_for_owner(self, owner_id: str, status: str | None, device_id: str | None, limit: int,
                       before: tuple[datetime, str] | None) -> list[Alert]:
        """Newest first by (opened_at, id), strictly before the keyset position before."""

    @abc.abstractmethod
    def delete_for_device(self, owner_id: str, device_id: str) -> list[str]:
        """Delete every alert of a device; the ids deleted."""

    @abc.abstractmethod
    def set_escalation_after(self, device_id: str, seconds: int) -> None:
        """Copy a device's new escalation period onto its active alerts."""


class IdempotencyStore(abc.ABC):
    """Idempotency-Key records per (user, key), kept 24 h."""

    @abc.abstractmethod
    def claim(self, user_id: str, key: str, fingerprint: str, now: datetime) -> IdempotencyRecord | None:
        """None when the key was free and is now ours; else the live record that holds it."""

    @abc.abstractmethod
    def complete(self, user_id: str, key: str, response: Result) -> None:
        """Remember the response of a claimed key."""

    @abc.abstractmethod
    def release(self, user_id: str, key: str) -> None:
        """Give a claimed key back after a failed request, so a retry may run."""


class ConnectionRepository(abc.ABC):
    """Open WebSocket connections by user."""

    @abc.abstractmethod
    def add(self, connection: Connection, now: datetime) -> None:
        """Remember a new connection."""

    @abc.abstractmethod
    def remove(self, connection_id: str) -> None:
        """Forget a connection (idempotent)."""

    @abc.abstractmethod
    def for_user(self, user_id: str) -> list[Connection]:
        """Connections of one user."""


class ConnectionGone(Exception):
    """The WebSocket connection no longer exists."""


class ConnectionPoster(abc.ABC):
    """Sends a message down one WebSocket connection."""

    @abc.abstractmethod
    def post(self, connection: Connection, data: bytes) -> None:
        """Send data; ConnectionGone when the client has left."""


class EscalationWorkflow(abc.ABC):
    """The long-running escalation of one alert."""

    @abc.abstractmethod
    def start(self, alert_id: str, wait_seconds: int) -> None:
        """Start escalating (idempotent per alert id)."""

    @abc.abstractmethod
    def stop(self, alert_id: str) -> None:
        """Stop escalating; tolerates an execution that already ended or never began."""


class SigningKeySource(abc.ABC):
    """Where the RS256 private key lives."""

    @abc.abstractmethod
    def get(self) -> SigningKey:
        """The signing key (cached by implementations)."""
