"""In-process background loops: the outbox worker and the escalation scheduler."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from stage1_monolith.services.common import Clock, Publish, UnitOfWorkFactory
from stage1_monolith.services.processing import Relay, escalate_due, process_pending_events, prune, skip_event

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Events per write transaction: enough to pay for SQLite's write lock once under load, few enough
# that a batch of 500-reading events still commits in tens of milliseconds.
BATCH = 50


class OutboxWorker:
    """Drains the outbox in acceptance order, BATCH events per transaction. After a failure it
    goes one event at a time, so a poison event is isolated and skipped after MAX_ATTEMPTS."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, publish: Publish, relay: Relay | None = None):
        self.uow, self.clock, self.publish, self.relay = uow, clock, publish, relay
        self._failures = 0

    def run_once(self) -> int:
        """Handle every pending event; returns how many were handled."""
        handled = 0
        while True:
            try:
                done, pushes = process_pending_events(self.uow, self.clock, self.relay,
                                                      limit=1 if self._failures else BATCH)
            except Exception:
                self._failures += 1
                log.exception("outbox event failed (attempt %d)", self._failures)
                if self._failures >= MAX_ATTEMPTS:
                    log.error("skipping outbox event %s after %d attempts", skip_event(self.uow, self.clock), MAX_ATTEMPTS)
                    self._failures = 0
                return handled
            self._failures = 0
            if not done:
                return handled
            handled += done
            for owner_id, message in pushes:
                self.publish(owner_id, message)


class EscalationScheduler:
    """Escalates alerts whose persisted due time has passed."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, publish: Publish):
        self.uow, self.clock, self.publish = uow, clock, publish

    def run_once(self) -> int:
        """Escalate what is due now; returns how many alerts escalated."""
        total = 0
        while True:
            pushes = escalate_due(self.uow, self.clock)
            for owner_id, message in pushes:
                self.publish(owner_id, message)
            total += len(pushes)
            if not pushes:
                return total


class Housekeeper:
    """Keeps the outbox and idempotency tables from growing without bound."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock):
        self.uow, self.clock = uow, clock

    def run_once(self) -> tuple[int, int]:
        return prune(self.uow, self.clock)


class Loop:
    """Runs step() every `interval` seconds (or sooner when woken) on a daemon thread."""

    def __init__(self, name: str, step: Callable[[], object], interval: float):
        self.name, self.step, self.interval = name, step, interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()  # a loop stopped for a migration hand-over may start again
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("%s step failed", self.name)
            self._wake.wait(self.interval)
            self._wake.clear()
