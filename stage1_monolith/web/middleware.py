"""Cross-cutting request handling: request id, rate limit, CORS preflight, unread bodies, access log."""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from homesense_core.http import REQUEST_ID_HEADER, cors_headers, request_id_from
from homesense_core.problems import RateLimited

from stage1_monolith.web.deps import deps

access_log = logging.getLogger("stage1_monolith.access")

# The most an unread body is drained to keep its connection (a body past the 1 MiB limit included).
DRAIN_LIMIT = 64 * 1024 * 1024


def install(app: Flask) -> None:
    @app.before_request
    def _begin():
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.started = time.perf_counter()
        allowed, retry_after = deps().limiter.take(request.remote_addr or "unknown")
        if not allowed:
            raise RateLimited(retry_after)
        if request.method == "OPTIONS":
            # A preflight on any path, known or not, is answered here (after_request adds CORS).
            response = Response(status=204)
            response.headers.pop("Content-Type", None)
            return response
        return None

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = request_id
        preflight = request.method == "OPTIONS" and response.status_code == 204
        for name, value in cors_headers(request.headers.get("Origin"), list(deps().settings.cors_origins), preflight).items():
            response.headers[name] = value
        _drain_unread_body()
        started = g.get("started")
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        access_log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed_ms)
        return response


def _drain_unread_body() -> None:
    """Read off whatever body the handler left unread (a 413, or a 401/404/429 before parsing).

    gunicorn drains only 64 KiB itself and then closes the connection, so a keep-alive client's
    next request would fail. A terminated wsgi.input ends with the body, so this never waits on
    the next request; a body that was read leaves nothing and costs one empty read.
    """
    stream = request.environ.get("wsgi.input")
    if stream is None or not request.environ.get("wsgi.input_terminated"):
        return
    left = DRAIN_LIMIT
    while left > 0:
        chunk = stream.read(min(65536, left))
        if not chunk:
            break
        left -= len(chunk)
