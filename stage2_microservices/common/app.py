"""What every service's composition root wires the same way: its pool, its bus, its FastAPI app."""

from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence

import httpx
from fastapi import APIRouter, FastAPI

from .db import Database
from .messaging import Bus, Topology
from .outbox import OutboxRelay
from .runtime import BackgroundTasks, health_router
from .settings import BaseServiceSettings, DatabaseSettings, NatsSettings
from .uow import COMMON_SCHEMA, UnitOfWork
from .web import install_edges

Hook = Callable[[], Awaitable[None]]


def service_database(settings: DatabaseSettings, schema_sql: str) -> Database:
    """The service's own pool; the shared outbox/inbox/idempotency tables come before its schema."""
    return Database(settings.database_url, [COMMON_SCHEMA, schema_sql], settings.db_pool_max)


def service_bus(settings: NatsSettings) -> Bus:
    """The service's NATS connection, named after the service so the server can tell clients apart."""
    return Bus(settings.nats_url, Topology(settings.events_namespace), settings.service_name)


def service_http_client(timeout: float = 5.0) -> httpx.AsyncClient:
    """The one pooled HTTP client a service calls its peers with (JWKS, devices); close it on shutdown.

    Creating it opens no connection: the composition root makes it and hands it to every caller.
    """
    return httpx.AsyncClient(timeout=timeout, headers={"Accept": "application/json"})


@dataclass(frozen=True)
class Persistence:
    """A service's units of work and, when they are real, its pool, bus and outbox relay."""

    uow_factory: Callable[[], UnitOfWork]
    db: Database | None = None
    bus: Bus | None = None
    relay: OutboxRelay | None = None

    def on_commit(self) -> None:
        """Wake the relay after a commit that queued events (nothing to wake with fakes)."""
        if self.relay is not None:
            self.relay.wake()


def service_persistence(settings, schema_sql: str, uow_class: Callable[[Database], UnitOfWork], *,
                        uow_factory: Callable[[], UnitOfWork] | None = None, db: Database | None = None,
                        bus: Bus | None = None) -> Persistence:
    """PostgreSQL units of work plus the NATS outbox relay; a given uow_factory (a fake) replaces all."""
    if uow_factory is not None:
        return Persistence(uow_factory, db, bus)
    db = db or service_database(settings, schema_sql)
    bus = bus or service_bus(settings)
    return Persistence(lambda: uow_class(db), db, bus, OutboxRelay(db, bus.publish))


def build_service_app(title: str, settings: BaseServiceSettings, *, db: Database | None = None,
                      bus: Bus | None = None, on_start: Sequence[Hook] = (),
                      background: Sequence[tuple[str, Hook]] = (), routers: Sequence[APIRouter] = (),
                      on_close: Sequence[Hook] = (), verifier=None) -> FastAPI:
    """A FastAPI app with the shared edges and health routes whose lifespan runs the given steps.

    verifier (a JwksVerifier) authenticates callers of caller_id routes; without one they get 401.
    Startup: open db, connect bus, await on_start, start background tasks. Shutdown undoes what
    started, in reverse (tasks, bus, db), then awaits on_close in order.
    """
    tasks = BackgroundTasks()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # An exit stack also closes what did open when a later startup step fails.
        async with AsyncExitStack() as stack:
            for close in reversed(on_close):
                stack.push_async_callback(close)
            if db is not None:
                await db.open()
                stack.push_async_callback(db.close)
            if bus is not None:
                await bus.connect()
                stack.push_async_callback(bus.close)
            for start in on_start:
                await start()
            stack.push_async_callback(tasks.stop)
            for name, factory in background:
                tasks.start(name, factory)
            yield

    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.verifier = verifier
    # Added first, so innermost: the edges (logs, request ids) still see the HEAD.
    app.add_middleware(HeadAsGet)
    install_edges(app, settings.cors_origins)
    for router in routers:
        app.include_router(router)
    checks = {}
    if db is not None:
        checks["database"] = db.ping
    if bus is not None:
        checks["nats"] = lambda: bus.is_connected
    app.include_router(health_router(checks))
    return app


class HeadAsGet:
    """HEAD is GET without the body on every stage (RFC 9110 9.3.2); FastAPI routes HEAD nowhere.

    The routes see GET in a copy of the scope; uvicorn keeps its own, still HEAD, and so sends the
    GET's headers (Content-Length included) without the body.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
