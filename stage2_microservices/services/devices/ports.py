"""Storage ports of the devices service (abstract bases; adapters in memory.py and postgres.py)."""

from abc import ABC, abstractmethod
from datetime import datetime

from homesense_core.model import Device


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
