"""Storage ports of the identity service (abstract bases; adapters in memory.py and postgres.py)."""

from abc import ABC, abstractmethod

from homesense_core.model import User
from homesense_core.throttle import Record, Update


class UserRepository(ABC):
    """Accounts."""

    @abstractmethod
    async def add(self, user: User) -> None:
        """Insert; Conflict if the username is taken."""

    @abstractmethod
    async def by_username(self, username: str) -> User | None:
        """Lookup for login."""

    @abstractmethod
    async def by_id(self, user_id: str) -> User | None:
        """Lookup for /me."""


class ThrottleRepository(ABC):
    """Login throttle and registration budget records (homesense_core.throttle), by key."""

    @abstractmethod
    async def get(self, key: str) -> Record | None:
        """The record, or None when the key has none."""

    @abstractmethod
    async def update(self, key: str, change: Update) -> Record:
        """Store change(current record); atomic with respect to other replicas in the transaction."""
