"""Composition root of the devices service: `uvicorn ...devices.main:create_app --factory`."""

from fastapi import FastAPI

from stage2_microservices.common.app import build_service_app, service_http_client, service_persistence
from stage2_microservices.common.auth import JwksVerifier, identity_jwks
from stage2_microservices.common.db import Database
from stage2_microservices.common.messaging import Bus
from stage2_microservices.common.web import configure_logging

from .postgres import PostgresDevicesUnitOfWork, schema_sql
from .routes import build_router
from .service import DeviceService
from .settings import DevicesSettings


def create_app(settings: DevicesSettings | None = None, *, uow_factory=None, db: Database | None = None,
               bus: Bus | None = None, verifier: JwksVerifier | None = None) -> FastAPI:
    """Wire the service; pass uow_factory (an in-memory fake) to run without Postgres and NATS."""
    settings = settings or DevicesSettings()
    configure_logging(settings.service_name, settings.log_level)
    http = service_http_client()  # one pool for every call to a peer, closed on shutdown
    verifier = verifier or JwksVerifier(identity_jwks(http, settings.identity_url))
    store = service_persistence(settings, schema_sql(), PostgresDevicesUnitOfWork,
                                uow_factory=uow_factory, db=db, bus=bus)
    relay, bus = store.relay, store.bus
    service = DeviceService(store.uow_factory, on_commit=store.on_commit)

    # Devices consumes no events: it only publishes device.* through its outbox.
    background = [("outbox-relay", relay.run)] if relay is not None else []
    app = build_service_app("HomeSense devices", settings, db=store.db, bus=bus, background=background,
                            routers=[build_router(service, settings.service_token.get_secret_value())],
                            on_close=[http.aclose], verifier=verifier)
    app.state.service = service
    return app
