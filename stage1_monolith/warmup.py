"""A WSGI front that answers /health at once while the real app is built on a thread."""
from __future__ import annotations

import json
import logging
import threading
from typing import Callable

from homesense_core import health_body
from homesense_core.http import cors_headers, request_id_from
from homesense_core.problems import RateLimited, ServiceUnavailable
from homesense_core.ratelimit import TokenBucket

log = logging.getLogger(__name__)

WSGIApp = Callable


class WarmingApp:
    """Serves GET /health during warm-up; every other request waits for the built app."""

    def __init__(self, build: Callable[[], WSGIApp], limiter: TokenBucket, cors_origins: list[str],
                 wait_seconds: float = 60.0, on_failure: Callable[[], None] = lambda: None):
        self._build, self._limiter, self._origins, self._wait = build, limiter, cors_origins, wait_seconds
        self._on_failure = on_failure
        self._app: WSGIApp | None = None
        self._done = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run_build, name="app-builder", daemon=True).start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout) and self._app is not None

    def _run_build(self) -> None:
        try:
            self._app = self._build()
        except Exception:
            log.exception("building the application failed")
            self._on_failure()
        finally:
            self._done.set()

    def __call__(self, environ, start_response):
        app = self._app
        if app is not None:
            return app(environ, start_response)
        if environ.get("PATH_INFO") == "/health" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self._health(environ, start_response)
        if self._done.wait(self._wait) and self._app is not None:
            return self._app(environ, start_response)
        return self._respond(environ, start_response, ServiceUnavailable("The service is starting; retry later."))

    def _health(self, environ, start_response):
        # Same rules as the full app: the bucket is shared with it, headers come from the core.
        allowed, retry_after = self._limiter.take(environ.get("REMOTE_ADDR") or "unknown")
        if not allowed:
            return self._respond(environ, start_response, RateLimited(retry_after))
        return self._send(environ, start_response, "200 OK", "application/json", health_body("monolith"), {})

    def _respond(self, environ, start_response, error):
        status = f"{error.status} {error.title}"
        return self._send(environ, start_response, status, "application/problem+json", error.to_dict(), error.headers)

    def _send(self, environ, start_response, status, content_type, body, extra):
        data = json.dumps(body).encode()
        headers = {"Content-Type": content_type, "Content-Length": str(len(data)),
                   "X-Request-Id": request_id_from(environ.get("HTTP_X_REQUEST_ID")), **extra,
                   **cors_headers(environ.get("HTTP_ORIGIN"), self._origins)}
        start_response(status, list(headers.items()))
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [data]
