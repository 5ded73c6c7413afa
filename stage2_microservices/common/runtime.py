"""Lifespan helpers: background tasks that stop cleanly, health routes."""

import asyncio
import logging
from typing import Awaitable, Callable

from fastapi import APIRouter

from homesense_core import health_body

from .web import json_response

log = logging.getLogger(__name__)


class BackgroundTasks:
    """Named long-running coroutines; a crash is logged and the task restarted after a pause."""

    def __init__(self):
        self.tasks: list[asyncio.Task] = []

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run factory() until stop(); restart it if it raises."""
        async def supervise():
            while True:
                try:
                    await factory()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background task %s crashed; restarting", name)
                    await asyncio.sleep(1.0)

        self.tasks.append(asyncio.create_task(supervise(), name=name))

    async def stop(self) -> None:
        """Cancel every task and wait for them."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _, stuck = await asyncio.wait(self.tasks, timeout=5)
            for task in stuck:
                log.warning("background task %s did not stop in time", task.get_name())
        self.tasks.clear()


def health_router(checks: dict[str, Callable[[], Awaitable[bool] | bool]]) -> APIRouter:
    """GET /healthz (200 when every dependency answers, else 503) and GET /health (contract body)."""
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz():
        """Readiness: the service's own database and NATS."""
        results = {}
        for name, check in checks.items():
            result = check()
            results[name] = bool(await result) if asyncio.iscoroutine(result) else bool(result)
        ok = all(results.values())
        return json_response({"status": "ok" if ok else "unavailable", "checks": results},
                             status=200 if ok else 503)

    @router.get("/health")
    async def health():
        """The contract's health body (the gateway may route /health to any service)."""
        return json_response(health_body("microservices"))

    return router
