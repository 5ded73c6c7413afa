"""Every service authenticates its callers itself: no trust by network position.

Envoy checks the token at the edge and forwards it unchanged (`forward: true`); each service
verifies it again against identity's JWKS before it acts. A process that reaches a service
port directly (another container, a local user) gets 401 without a valid token, exactly as an
API Gateway private integration refuses callers that did not come through the gateway.
Service-to-service routes (/internal/...) need the deployment's shared service token instead.
"""

import time
from typing import Awaitable, Callable

import httpx

from homesense_core.problems import ServiceUnavailable, Unauthorized
# The service-token rule is homesense_core's (the monolith's /internal routes check it too).
from homesense_core.tokens import (SERVICE_TOKEN_HEADER, TOKEN_FAILURE_DETAIL, Claims,  # noqa: F401
                                   TokenVerifier, check_service_token)



def identity_jwks(http: httpx.AsyncClient, identity_url: str) -> Callable[[], Awaitable[dict]]:
    """A fetcher of GET {identity}/.well-known/jwks.json over the service's shared client."""
    url = identity_url.rstrip("/") + "/.well-known/jwks.json"

    async def fetch() -> dict:
        try:
            response = await http.get(url)
            body = response.json() if response.status_code == 200 else None
        except (httpx.TransportError, ValueError) as exc:
            raise ServiceUnavailable("The identity service is unavailable.") from exc
        if not isinstance(body, dict):
            raise ServiceUnavailable("The identity service is unavailable.")
        return body

    return fetch


def static_jwks(jwks: dict) -> Callable[[], Awaitable[dict]]:
    """A fetcher returning a fixed JWKS (identity verifies against its own key; tests)."""
    async def fetch() -> dict:
        return jwks

    return fetch


class JwksVerifier:
    """Caches the JWKS; refetches (at most every min_refresh s) when a token names an unknown key."""

    def __init__(self, fetch: Callable[[], Awaitable[dict]], min_refresh: float = 5.0,
                 clock=time.monotonic):
        self.fetch, self.min_refresh, self.clock = fetch, min_refresh, clock
        self._verifier: TokenVerifier | None = None
        self._fetched_at = float("-inf")

    async def _refresh(self) -> None:
        self._verifier = TokenVerifier(await self.fetch())
        self._fetched_at = self.clock()

    async def verify(self, token: str | None) -> Claims:
        """Claims of a valid token; Unauthorized otherwise."""
        if not token:
            raise Unauthorized(TOKEN_FAILURE_DETAIL)
        if self._verifier is None:
            await self._refresh()
        try:
            return self._verifier.verify(token)
        except Unauthorized:
            if self.clock() - self._fetched_at < self.min_refresh:
                raise
        await self._refresh()  # identity may have a new key
        return self._verifier.verify(token)
