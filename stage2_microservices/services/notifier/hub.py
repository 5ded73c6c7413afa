"""Open WebSocket connections per user, and fan-out to them (at most once, best effort)."""

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import defaultdict

log = logging.getLogger(__name__)


class Connection(ABC):
    """One client socket; sends are serialised because the pusher and the pong share it."""

    def __init__(self):
        self._lock = asyncio.Lock()

    async def send(self, message: dict) -> None:
        """Send one JSON message."""
        async with self._lock:
            await self._send(message)

    @abstractmethod
    async def _send(self, message: dict) -> None: ...


class WebSocketConnection(Connection):
    """A Starlette WebSocket."""

    def __init__(self, websocket):
        super().__init__()
        self.websocket = websocket

    async def _send(self, message):
        await self.websocket.send_json(message)


class Hub:
    """user id -> open connections of this replica."""

    def __init__(self):
        self.connections: dict[str, set[Connection]] = defaultdict(set)

    def add(self, user_id: str, conn: Connection) -> None:
        """Register a connection."""
        self.connections[user_id].add(conn)

    def remove(self, user_id: str, conn: Connection) -> None:
        """Forget a connection."""
        self.connections[user_id].discard(conn)
        if not self.connections[user_id]:
            self.connections.pop(user_id, None)

    def count(self, user_id: str) -> int:
        """Open connections of a user."""
        return len(self.connections.get(user_id, ()))

    async def push(self, user_id: str, message: dict) -> int:
        """Send to every connection of user_id; a dead one is dropped. Returns deliveries."""
        delivered = 0
        for conn in list(self.connections.get(user_id, ())):
            try:
                await asyncio.wait_for(conn.send(message), timeout=5)
                delivered += 1
            except Exception as exc:  # a closed or stuck socket must not block the others
                log.info("dropping connection of %s: %s", user_id, exc)
                self.remove(user_id, conn)
        return delivered
