"""Wires the real adapters (SQLite, key file, threads) into the app: the process's composition root."""
from __future__ import annotations

import logging
import time

from homesense_core.clock import utcnow
from homesense_core.ratelimit import TokenBucket

from stage1_monolith.adapters.database import make_engine, migrate
from stage1_monolith.adapters.sql import SqlUnitOfWorkFactory
from stage1_monolith.background import EscalationScheduler, Housekeeper, Loop, OutboxWorker
from stage1_monolith.hub import Hub
from stage1_monolith.keys import load_or_create_signing_key
from stage1_monolith.services.common import Clock
from stage1_monolith.settings import Settings
from stage1_monolith.web.app import create_app

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 600.0


class Runtime:
    """The app plus its background loops; the constructor does the I/O, start()/stop() the three threads."""

    def __init__(self, settings: Settings, clock: Clock = utcnow, limiter: TokenBucket | None = None):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        signing_key = load_or_create_signing_key(settings.signing_key_path)
        self.engine = make_engine(settings.database_path)
        migrate(self.engine)
        self.uow = SqlUnitOfWorkFactory(self.engine)
        self.hub = Hub()
        self.relay = None
        if settings.device_events_nats_url:
            from stage1_monolith.adapters.nats_relay import NatsDeviceRelay

            self.relay = NatsDeviceRelay(settings.device_events_nats_url, settings.events_namespace)
        worker = OutboxWorker(self.uow, clock, self.hub.publish, self.relay.publish if self.relay else None)
        scheduler = EscalationScheduler(self.uow, clock, self.hub.publish)
        self.outbox_loop = Loop("outbox-worker", worker.run_once, settings.outbox_poll_seconds)
        self.scheduler_loop = Loop("escalation-scheduler", scheduler.run_once, settings.scheduler_poll_seconds)
        self.housekeeping_loop = Loop("housekeeping", Housekeeper(self.uow, clock).run_once, HOUSEKEEPING_SECONDS)
        self.app = create_app(settings, uow=self.uow, signing_key=signing_key, clock=clock, hub=self.hub,
                              limiter=limiter, wake_worker=self.outbox_loop.wake,
                              device_events=self.relay is not None,
                              migration_controls=MigrationControls(self, worker) if settings.internal_api else None)
        self._stopped = False

    def start(self) -> None:
        """Start the outbox worker and the escalation scheduler (once per process)."""
        self.outbox_loop.start()
        self.scheduler_loop.start()
        self.housekeeping_loop.start()
        log.info("outbox worker and escalation scheduler started")

    def stop(self) -> None:
        """Close push connections, stop the loops, release the database."""
        if self._stopped:
            return
        self._stopped = True
        self.hub.close_all()
        self.outbox_loop.stop()
        self.scheduler_loop.stop()
        self.housekeeping_loop.stop()
        if self.relay is not None:
            self.relay.close()
        self.engine.dispose()
        log.info("stopped")


QUIET_S = 1.0


class MigrationControls:
    """What a migration cutover asks of the monolith when alerts and push move out of it."""

    def __init__(self, runtime: Runtime, worker: OutboxWorker, drain_seconds: float = 30.0):
        self.runtime, self.worker, self.drain_seconds = runtime, worker, drain_seconds

    def _pending(self) -> int:
        with self.runtime.uow() as tx:
            return tx.outbox.pending_count()

    def handover(self) -> dict:
        """Stop the escalation scheduler, then handle every pending outbox event now."""
        self.runtime.scheduler_loop.stop()
        deadline = time.monotonic() + self.drain_seconds
        quiet_since = None
        # A write that was in flight when the edge froze commits its outbox row a moment later:
        # the outbox must stay empty for QUIET_S, not just be empty once.
        while time.monotonic() < deadline:
            if self._pending():
                quiet_since = None
                self.worker.run_once()
                continue
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= QUIET_S:
                break
            time.sleep(0.1)
        return {"outbox_pending": self._pending(), "scheduler": "stopped"}

    def resume(self) -> dict:
        self.runtime.scheduler_loop.start()
        return {"scheduler": "running"}

    def disconnect_push(self) -> dict:
        return {"closed": self.runtime.hub.disconnect_all()}
