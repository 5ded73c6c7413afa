"""The composition root of the HTTP app: every dependency comes in as a parameter."""
from __future__ import annotations

import time
from typing import Callable

from flask import Flask

from homesense_core.bodies import MAX_BODY_BYTES
from homesense_core.clock import utcnow
from homesense_core.ratelimit import TokenBucket
from homesense_core.throttle import AccountThrottle, MemoryThrottleStore
from homesense_core.tokens import SigningKey, TokenIssuer, TokenVerifier

from stage1_monolith.hub import Hub
from stage1_monolith.services.common import Clock, UnitOfWorkFactory
from stage1_monolith.settings import Settings
from stage1_monolith.web import alerts, devices, errors, health, identity, internal, middleware, pages, readings, ws
from stage1_monolith.web.deps import EXTENSION, Deps


def create_app(settings: Settings, *, uow: UnitOfWorkFactory, signing_key: SigningKey,
               clock: Clock = utcnow, hub: Hub | None = None, limiter: TokenBucket | None = None,
               wake_worker: Callable[[], None] = lambda: None,
               monotonic: Callable[[], float] = time.monotonic, device_events: bool = False,
               migration_controls=None) -> Flask:
    """Build the Flask app; it starts no threads and touches no files itself."""
    app = Flask("stage1_monolith")
    # werkzeug raises 413 (errors.py renders it) for a Content-Length past this, but a chunked
    # body it only truncates here, silently. One byte past the limit lets decode_json_body see
    # that a chunked body is too large and answer 413 too, instead of 400 for the cut JSON.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1
    app.extensions[EXTENSION] = Deps(
        settings=settings,
        uow=uow,
        clock=clock,
        signing_key=signing_key,
        issuer=TokenIssuer(signing_key),
        verifier=TokenVerifier(signing_key.jwks()),
        hub=hub or Hub(),
        limiter=limiter or TokenBucket(settings.rate_limit_rps, settings.rate_limit_burst, clock=monotonic),
        # One process: the throttle's records live in its memory (a restart forgets them).
        throttle=AccountThrottle(MemoryThrottleStore(), settings.throttle),
        wake_worker=wake_worker,
        device_events=device_events,
    )
    middleware.install(app)
    errors.register_error_handlers(app)
    for blueprint in (health.bp, identity.bp, devices.bp, readings.bp, alerts.bp, ws.bp, pages.bp):
        app.register_blueprint(blueprint)
    if settings.internal_api:
        app.register_blueprint(internal.bp)
        if migration_controls is not None:
            app.extensions[internal.CONTROLS] = migration_controls
    return app
