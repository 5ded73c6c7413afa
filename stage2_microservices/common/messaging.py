"""NATS JetStream plumbing: streams, de-duplicated publishing, durable pull consumers.

Subjects are "<namespace>.<event type>", e.g. homesense.device.deleted; see README.md.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

import nats
from nats.js import api
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger(__name__)

# Event type prefix -> stream suffix; one stream per producing service.
STREAMS = {"device": "DEVICES", "reading": "READINGS", "alert": "ALERTS"}
# Publish de-duplication window: an outbox row re-sent after a crash within it is dropped.
DUPLICATE_WINDOW_S = 120.0

Handler = Callable[[str, dict, str], Awaitable[None]]  # (event_type, payload, msg_id)


@dataclass(frozen=True)
class Topology:
    """Names of subjects and streams under one namespace."""

    namespace: str = "homesense"

    def subject(self, event_type: str) -> str:
        """NATS subject of an event type such as "alert.opened"."""
        return f"{self.namespace}.{event_type}"

    def event_type(self, subject: str) -> str:
        """Inverse of subject()."""
        return subject[len(self.namespace) + 1:]

    def stream(self, family: str) -> str:
        """Stream name for an event family ("device", "reading", "alert")."""
        return f"{self.namespace.upper().replace('-', '_')}_{STREAMS[family]}"

    def streams(self) -> dict[str, list[str]]:
        """Every stream with its subjects."""
        return {self.stream(f): [self.subject(f"{f}.>")] for f in STREAMS}


def _redacted(url: str) -> str:
    """The URL without its password (it ends up in logs)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostport = rest.rpartition("@")
    return f"{scheme}{sep}{userinfo.split(':')[0]}:***@{hostport}" if at else url


class Bus:
    """One NATS connection with JetStream; connect() in the lifespan, close() on shutdown."""

    def __init__(self, url: str, topology: Topology, client_name: str):
        self.url, self.topology, self.client_name = url, topology, client_name
        self.nc = None
        self.js = None
        self._push_subs = []

    async def connect(self, timeout: float = 10.0) -> None:
        """Connect (retrying until timeout, so start order does not matter) and ensure the streams."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                self.nc = await nats.connect(
                    self.url, name=self.client_name, connect_timeout=2, allow_reconnect=True,
                    max_reconnect_attempts=-1, reconnect_time_wait=0.5, error_cb=self._on_error)
                break
            except Exception as exc:  # nats raises several types for "not there yet"
                if loop.time() > deadline:
                    raise ConnectionError(f"NATS not reachable at {_redacted(self.url)}: {exc}") from exc
                await asyncio.sleep(0.2)
        self.js = self.nc.jetstream(timeout=5)
        await self.ensure_streams()

    @staticmethod
    async def _on_error(exc: Exception) -> None:
        log.warning("nats: %s", exc)

    async def ensure_streams(self) -> None:
        """Create or update the streams (idempotent, safe from every replica)."""
        for name, subjects in self.topology.streams().items():
            config = api.StreamConfig(
                name=name, subjects=subjects, storage=api.StorageType.FILE,
                retention=api.RetentionPolicy.LIMITS, duplicate_window=DUPLICATE_WINDOW_S,
                max_age=7 * 24 * 3600.0)
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                await self.js.update_stream(config)

    @property
    def is_connected(self) -> bool:
        """True while the connection is up."""
        return self.nc is not None and self.nc.is_connected

    async def publish(self, event_type: str, payload: dict, msg_id: str) -> None:
        """Publish to JetStream with Nats-Msg-Id so a repeat within the window is dropped."""
        data = json.dumps(payload, separators=(",", ":")).encode()
        await self.js.publish(self.topology.subject(event_type), data,
                              headers={"Nats-Msg-Id": msg_id})

    async def consume(self, family: str, durable: str, handler: Handler, *,
                      filter_event: str | None = None, max_ack_pending: int = 1,
                      ack_wait: float = 10.0) -> None:
        """Run a durable pull consumer forever; ack after handler, nak (redeliver) on error.

        max_ack_pending=1 keeps the stream order even with several replicas pulling. A message
        delivered to a process that died is redelivered after ack_wait, so keep it short.
        """
        stream = self.topology.stream(family)
        subject = self.topology.subject(filter_event or f"{family}.>")
        config = api.ConsumerConfig(
            durable_name=durable, ack_policy=api.AckPolicy.EXPLICIT, filter_subject=subject,
            deliver_policy=api.DeliverPolicy.ALL, max_ack_pending=max_ack_pending,
            ack_wait=ack_wait, max_deliver=-1)
        sub = await self._pull_subscription(stream, durable, subject, config)
        while True:
            try:
                messages = await sub.fetch(batch=1, timeout=1.0)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                # nats-py may turn our cancellation into a timeout; do not swallow a shutdown.
                if asyncio.current_task().cancelling():
                    raise asyncio.CancelledError from None
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError,
                    nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError) as exc:
                log.warning("consumer %s waiting for NATS: %s", durable, exc)
                await asyncio.sleep(0.5)
                continue
            for msg in messages:
                await self._deliver(msg, durable, handler)

    async def _pull_subscription(self, stream, durable, subject, config):
        while True:
            try:
                return await self.js.pull_subscribe(subject, durable=durable, stream=stream,
                                                    config=config)
            except (NotFoundError, nats.errors.TimeoutError) as exc:
                log.warning("consumer %s not ready: %s", durable, exc)
                await asyncio.sleep(0.5)

    async def _deliver(self, msg, durable: str, handler: Handler) -> None:
        headers = msg.headers or {}
        msg_id = headers.get("Nats-Msg-Id") or f"seq-{msg.metadata.sequence.stream}"
        try:
            payload = json.loads(msg.data)
            await handler(self.topology.event_type(msg.subject), payload, msg_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("consumer %s failed on %s; redelivering", durable, msg_id)
            await msg.nak(delay=0.5)
            return
        await msg.ack()

    async def subscribe_new(self, family: str, handler: Handler) -> None:
        """Ephemeral ordered consumer from now on: every replica sees every event, at most once."""
        async def on_message(msg):
            headers = msg.headers or {}
            try:
                await handler(self.topology.event_type(msg.subject), json.loads(msg.data),
                              headers.get("Nats-Msg-Id", ""))
            except Exception:
                log.exception("push handler failed")

        sub = await self.js.subscribe(self.topology.subject(f"{family}.>"), cb=on_message,
                                      ordered_consumer=True, deliver_policy=api.DeliverPolicy.NEW,
                                      stream=self.topology.stream(family))
        self._push_subs.append(sub)

    async def close(self) -> None:
        """Drain and close (idempotent)."""
        for sub in self._push_subs:
            try:
                await sub.unsubscribe()
            except Exception:  # already gone with the connection
                pass
        self._push_subs.clear()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), timeout=3)
            except Exception:  # drain fails or hangs when the server is gone: just close
                await self.nc.close()
        self.nc = self.js = None
