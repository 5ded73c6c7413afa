"""Gunicorn as the production WSGI server: one worker process, many threads, our hooks."""
from __future__ import annotations

import faulthandler
import json
import mmap
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

from gunicorn.app.base import BaseApplication

from stage1_monolith.logs import configure_logging
from stage1_monolith.settings import Settings

READY_PREFIX = "HOMESENSE_READY"


def ready_line(settings: Settings) -> str:
    base = f"http://{settings.host}:{settings.port}"
    return READY_PREFIX + " " + json.dumps({"base_url": base, "ws_url": f"ws://{settings.host}:{settings.port}/ws"})


def announce_when_healthy(settings: Settings, announced: mmap.mmap, timeout: float = 60.0) -> None:
    """Poll our own /health through the listening socket; print the ready line once it answers."""
    url = f"http://{settings.host}:{settings.port}/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    if announced[0] == 0:
                        announced[0] = 1
                        print(ready_line(settings), flush=True)
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    print(f"stage1: /health did not answer within {timeout:.0f}s", file=sys.stderr, flush=True)


def _stop_master() -> None:
    # A worker that cannot build its app must not be restarted in a loop: stop the whole server.
    os.kill(os.getppid(), signal.SIGTERM)


class MonolithServer(BaseApplication):
    """Gunicorn application whose single worker builds the runtime and runs its threads."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.runtime = None
        # Shared with the forked worker: a restarted worker must not print the ready line again.
        self.announced = mmap.mmap(-1, 1)
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options = {
            "bind": f"{s.host}:{s.port}",
            # ONE worker: the outbox worker, scheduler and WebSocket hub live in its memory.
            "workers": 1,
            # gthread, but a connection gets a thread only once it sends bytes (see worker.py).
            "worker_class": "stage1_monolith.worker.PollingThreadWorker",
            "threads": s.threads,
            "timeout": 30,
            # Short: open WebSockets are closed on shutdown, so nothing needs long to drain.
            "graceful_timeout": 5,
            "keepalive": 5,
            "errorlog": "-",
            "loglevel": s.log_level.lower(),
            "accesslog": None,
            "control_socket_disable": True,
            "proc_name": "homesense-stage1",
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in the worker after the fork. The heavy imports and the database happen on a
        # thread (see WarmingApp), so /health answers within a fraction of a second.
        from homesense_core.ratelimit import TokenBucket

        from stage1_monolith.warmup import WarmingApp

        configure_logging(self.settings.log_level)
        # `kill -USR2 <worker pid>` dumps every thread's stack to stderr: how a hang gets diagnosed.
        faulthandler.register(signal.SIGUSR2, all_threads=True)
        limiter = TokenBucket(self.settings.rate_limit_rps, self.settings.rate_limit_burst)
        self.front = WarmingApp(lambda: self._build(limiter), limiter, list(self.settings.cors_origins),
                                on_failure=_stop_master)
        return self.front

    def _build(self, limiter):
        from stage1_monolith.runtime import Runtime

        runtime = Runtime(self.settings, limiter=limiter)
        runtime.start()
        self.runtime = runtime
        return runtime.app

    def _post_worker_init(self, worker) -> None:
        self.front.start()
        if self.announced[0] == 0:
            # From the worker, never the master: a master thread holding an import lock
            # across gunicorn's fork leaves the worker deadlocked on its first import.
            threading.Thread(target=announce_when_healthy, args=(self.settings, self.announced),
                             name="ready-announcer", daemon=True).start()

        def watch() -> None:
            # gunicorn only flips worker.alive on SIGTERM; open WebSockets must hear about it.
            while worker.alive:
                time.sleep(0.2)
            if self.runtime is not None:
                self.runtime.stop()

        threading.Thread(target=watch, name="shutdown-watch", daemon=True).start()

    def _worker_exit(self, arbiter, worker) -> None:
        if self.runtime is not None:
            self.runtime.stop()
