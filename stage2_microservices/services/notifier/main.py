"""Composition root of the notifier service: `uvicorn ...notifier.main:create_app --factory`."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from stage2_microservices.common.messaging import Bus, Topology
from stage2_microservices.common.runtime import health_router
from stage2_microservices.common.web import configure_logging, install_edges

from .auth import JwksVerifier, identity_jwks
from .hub import Hub
from .routes import build_router
from .service import NotifierService
from .settings import NotifierSettings


def create_app(settings: NotifierSettings | None = None, *, bus: Bus | None = None,
               verifier: JwksVerifier | None = None, hub: Hub | None = None,
               subscribe: bool = True) -> FastAPI:
    """Wire the service; subscribe=False runs it without NATS (unit tests push directly)."""
    settings = settings or NotifierSettings()
    configure_logging(settings.service_name, settings.log_level)
    hub = hub or Hub()
    service = NotifierService(hub)
    verifier = verifier or JwksVerifier(identity_jwks(settings.identity_url))
    if subscribe:
        bus = bus or Bus(settings.nats_url, Topology(settings.events_namespace), settings.service_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if bus is not None:
            await bus.connect()
            await bus.subscribe_new("alert", service.on_alert_event)
        try:
            yield
        finally:
            if bus is not None:
                await bus.close()

    app = FastAPI(title="HomeSense notifier", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_edges(app, settings.cors_origins)
    app.include_router(build_router(service, hub, verifier))
    app.include_router(health_router({"nats": lambda: bus.is_connected} if bus is not None else {}))
    app.state.service, app.state.hub = service, hub
    return app
