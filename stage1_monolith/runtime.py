"""Wires the real adapters (SQLite, key file, threads) into the app: the process's composition root."""
from __future__ import annotations

import logging

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
        worker = OutboxWorker(self.uow, clock, self.hub.publish)
        scheduler = EscalationScheduler(self.uow, clock, self.hub.publish)
        self.outbox_loop = Loop("outbox-worker", worker.run_once, settings.outbox_poll_seconds)
        self.scheduler_loop = Loop("escalation-scheduler", scheduler.run_once, settings.scheduler_poll_seconds)
        self.housekeeping_loop = Loop("housekeeping", Housekeeper(self.uow, clock).run_once, HOUSEKEEPING_SECONDS)
        self.app = create_app(settings, uow=self.uow, signing_key=signing_key, clock=clock, hub=self.hub,
                              limiter=limiter, wake_worker=self.outbox_loop.wake)
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
        self.engine.dispose()
        log.info("stopped")
