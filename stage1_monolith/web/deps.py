"""The dependencies every handler reaches through current_app (set by the app factory)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, g, request

from homesense_core.idempotency import HEADER as IDEMPOTENCY_HEADER
from homesense_core.idempotency import fingerprint, validate_key
from homesense_core.ratelimit import TokenBucket
from homesense_core.throttle import AccountThrottle
from homesense_core.tokens import SigningKey, TokenIssuer, TokenVerifier, bearer_token

from stage1_monolith.hub import Hub
from stage1_monolith.services.common import Clock, Idempotency, UnitOfWorkFactory
from stage1_monolith.settings import Settings

EXTENSION = "homesense"


@dataclass
class Deps:
    """Composition-root output: what handlers may use."""

    settings: Settings
    uow: UnitOfWorkFactory
    clock: Clock
    signing_key: SigningKey
    issuer: TokenIssuer
    verifier: TokenVerifier
    hub: Hub
    limiter: TokenBucket
    throttle: AccountThrottle
    wake_worker: Callable[[], None]
    device_events: bool = False  # queue device.* outbox rows for the migration's NATS relay


def deps() -> Deps:
    return current_app.extensions[EXTENSION]


def authenticate(token: str | None = None) -> str:
    """The caller's user id from the bearer token (or the given token); 401 otherwise."""
    d = deps()
    if token is None:
        token = bearer_token(request.headers.get("Authorization"))
    g.user_id = d.verifier.verify(token, now=d.clock()).user_id
    return g.user_id


def idempotency(body: dict) -> Idempotency | None:
    """The validated Idempotency-Key of this request with its fingerprint, if one was sent."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    return Idempotency(validate_key(key), fingerprint(request.method, request.path, body))
