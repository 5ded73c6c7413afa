"""WebSocket hub: the open push connections of each user, in this process."""
from __future__ import annotations

import json
import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)


class Connection(Protocol):
    def send(self, data: str) -> None: ...

    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


class Hub:
    """Fans push messages out to every connection of the alert's owner (at most once)."""

    def __init__(self):
        self._by_user: dict[str, set[Connection]] = {}
        self._send_locks: dict[int, threading.Lock] = {}
        self._lock = threading.Lock()
        self.closing = threading.Event()

    def register(self, user_id: str, conn: Connection) -> None:
        with self._lock:
            self._by_user.setdefault(user_id, set()).add(conn)
            self._send_locks[id(conn)] = threading.Lock()

    def unregister(self, user_id: str, conn: Connection) -> None:
        with self._lock:
            conns = self._by_user.get(user_id, set())
            conns.discard(conn)
            if not conns:
                self._by_user.pop(user_id, None)
            self._send_locks.pop(id(conn), None)

    def connection_count(self, user_id: str | None = None) -> int:
        with self._lock:
            if user_id is not None:
                return len(self._by_user.get(user_id, ()))
            return sum(len(c) for c in self._by_user.values())

    def send(self, conn: Connection, message: dict) -> bool:
        """Send to one connection; the per-connection lock keeps frames from interleaving."""
        with self._lock:
            lock = self._send_locks.get(id(conn))
        if lock is None:
            return False
        try:
            with lock:
                conn.send(json.dumps(message))
            return True
        except Exception:  # a closed socket must not stop the fan-out
            log.info("dropping a push to a closed connection")
            return False

    def publish(self, user_id: str, message: dict) -> int:
        """Send message to every connection of user_id; returns how many got it."""
        with self._lock:
            targets = list(self._by_user.get(user_id, ()))
        return sum(self.send(conn, message) for conn in targets)

    def disconnect_all(self, code: int = 1012, reason: str = "push moved; reconnect") -> int:
        """Close the open connections but keep accepting (1012: clients reconnect elsewhere)."""
        with self._lock:
            targets = [c for conns in self._by_user.values() for c in conns]
        for conn in targets:
            try:
                conn.close(code, reason)
            except Exception:
                pass
        return len(targets)

    def close_all(self) -> None:
        """Stop accepting and close every connection (shutdown)."""
        self.closing.set()
        with self._lock:
            targets = [c for conns in self._by_user.values() for c in conns]
        for conn in targets:
            try:
                conn.close(1001, "server shutting down")
            except Exception:
                pass
