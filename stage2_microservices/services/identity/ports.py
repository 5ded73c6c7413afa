"""Storage ports of the identity service (abstract bases; adapters in memory.py and postgres.py)."""

from abc import ABC, abstractmethod

from homesense_core.model import User


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
