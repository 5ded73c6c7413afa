"""Device events to NATS JetStream, for the migration steps where the monolith still owns devices.

Off unless HOMESENSE_DEVICE_EVENTS_NATS_URL is set: stage 1 alone never loads it (nats-py is not a
stage 1 dependency; it is imported on first use). The outbox worker hands it each device.* row
in outbox order; the subject and payload are stage 2's (`<namespace>.device.created` with
{"device": {...public JSON, "owner_id"}}), so the extracted services consume them as if the
devices service had published them. Nats-Msg-Id is the outbox row id: a re-sent row after a crash
is dropped by JetStream's duplicate window, as stage 2's own relay relies on.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time


class NatsDeviceRelay:
    """A synchronous publish() over an asyncio NATS connection kept on its own thread."""

    def __init__(self, url: str, namespace: str = "homesense", timeout: float = 10.0):
        self.url, self.namespace, self.timeout = url, namespace, timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-relay", daemon=True)
        self._thread.start()
        self._nc = None
        self._js = None

    async def _connect(self):
        import nats

        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(self.url, name="stage1-device-relay", connect_timeout=2,
                                          allow_reconnect=True, max_reconnect_attempts=-1)
            self._js = self._nc.jetstream(timeout=5)
        return self._js

    async def _publish(self, subject: str, data: bytes, msg_id: str) -> None:
        # The stream is created by the stage 2 services (their Bus.ensure_streams); until one has
        # started there is no responder, so retry for a while rather than fail the outbox row.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                js = await self._connect()
                await js.publish(subject, data, headers={"Nats-Msg-Id": msg_id})
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def publish(self, event_type: str, payload: dict, msg_id: str) -> None:
        """Publish one event; raises (the outbox row stays pending) if NATS does not take it."""
        data = json.dumps(payload, separators=(",", ":")).encode()
        future = asyncio.run_coroutine_threadsafe(
            self._publish(f"{self.namespace}.{event_type}", data, msg_id), self._loop)
        future.result(self.timeout + 5)

    def close(self) -> None:
        async def _close():
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()

        try:
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
