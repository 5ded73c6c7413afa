"""Storage ports of the telemetry service (abstract bases; adapters in memory.py and postgres.py)."""

from abc import ABC, abstractmethod
from datetime import datetime

from homesense_core.model import Reading


Position = tuple[datetime, int]  # (recorded_at, seq)


class ReadingRepository(ABC):
    """Readings of every device."""

    @abstractmethod
    async def add(self, device_id: str, items: list[tuple[float, datetime]]) -> list[Reading]:
        """Store a batch in array order; seq grows with acceptance order."""

    @abstractmethod
    async def page(self, device_id: str, start: datetime | None, end: datetime | None,
                   descending: bool, after: Position | None, limit: int) -> list[Reading]:
        """Readings in [start, end) ordered by (recorded_at, seq), strictly after the position."""

    @abstractmethod
    async def values(self, device_id: str, start: datetime | None, end: datetime | None
                     ) -> list[tuple[float, datetime]]:
        """(value, recorded_at) pairs in [start, end), for the summary."""

    @abstractmethod
    async def delete_device(self, device_id: str) -> None:
        """Forget every reading of a device."""
