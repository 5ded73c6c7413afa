"""Storage ports of the alerts service (abstract bases; adapters in memory.py and postgres.py)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from homesense_core.model import Alert, Device


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
