"""Composition root of the notifier service: `uvicorn ...notifier.main:create_app --factory`."""

from fastapi import FastAPI

from stage2_microservices.common.app import build_service_app, service_bus, service_http_client
from stage2_microservices.common.messaging import Bus
from stage2_microservices.common.web import configure_logging

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
    http = service_http_client()  # one pool for every call to a peer, closed on shutdown
    verifier = verifier or JwksVerifier(identity_jwks(http, settings.identity_url))
    if subscribe:
        bus = bus or service_bus(settings)

    # No database and no durable consumer: pushes are at-most-once to whoever is connected now,
    # so the subscription is made once at startup rather than run as a supervised task.
    on_start = [lambda: bus.subscribe_new("alert", service.on_alert_event)] if bus is not None else []
    app = build_service_app("HomeSense notifier", settings, bus=bus, on_start=on_start,
                            routers=[build_router(service, hub, verifier)], on_close=[http.aclose],
                            verifier=verifier)
    app.state.service, app.state.hub = service, hub
    return app
