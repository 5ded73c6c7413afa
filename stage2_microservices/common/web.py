"""HTTP edges shared by the services: problem+json errors, request ids, caller identity, bodies."""

import contextlib
import contextvars
import json
import logging

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from homesense_core.bodies import decode_json_body
from homesense_core.http import REQUEST_ID_HEADER, Result, cors_headers, parse_origins, request_id_from
from homesense_core.logformat import JsonLogFormatter
from homesense_core.logsafe import EscapeControls
from homesense_core.problems import (PROBLEM_CONTENT_TYPE, FieldError, ProblemError,
                                     ServiceUnavailable, Unauthorized, ValidationFailed,
                                     problem_dict, slug_for_status)
from homesense_core.tokens import TOKEN_FAILURE_DETAIL, bearer_token

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
log = logging.getLogger(__name__)


def problem_response(exc: ProblemError) -> JSONResponse:
    """Render a core problem as application/problem+json."""
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=exc.headers,
                        media_type=PROBLEM_CONTENT_TYPE)


async def _on_problem(request: Request, exc: ProblemError):
    return problem_response(exc)


async def _on_http(request: Request, exc: StarletteHTTPException):
    slug = slug_for_status(exc.status_code)
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    return JSONResponse(problem_dict(slug), status_code=exc.status_code, headers=headers,
                        media_type=PROBLEM_CONTENT_TYPE)


async def _on_validation(request: Request, exc: RequestValidationError):
    # Handlers parse with the core, so this only fires for path/query typing we left to FastAPI.
    errors = [FieldError("/".join(str(p) for p in e.get("loc", ())[1:]), e.get("msg", "invalid"))
              for e in exc.errors()]
    return problem_response(ValidationFailed(errors))


async def _on_unavailable(request: Request, exc: Exception):
    log.warning("dependency unavailable: %s", exc)
    return problem_response(ServiceUnavailable())


class RequestContextMiddleware:
    """Pure ASGI, outermost: X-Request-Id in and out, CORS on every response, preflights, 500s."""

    def __init__(self, app, cors_origins: str = "*"):
        self.app = app
        self.origins = parse_origins(cors_origins)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = request_id_from(headers.get("x-request-id"))
        token = request_id_var.set(request_id)
        preflight = (scope["type"] == "http" and scope["method"] == "OPTIONS"
                     and "access-control-request-method" in headers)
        extra = {REQUEST_ID_HEADER: request_id,
                 **cors_headers(headers.get("origin"), self.origins, preflight=preflight)}
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.lower().encode(), v.encode()) for k, v in extra.items()
                    if k.lower().encode() not in present]
            await send(message)

        try:
            if preflight:
                return await Response(status_code=204)(scope, receive, send_with_headers)
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error")
            if scope["type"] == "http" and not started:
                response = JSONResponse(problem_dict("internal-error"), status_code=500,
                                        media_type=PROBLEM_CONTENT_TYPE)
                await response(scope, receive, send_with_headers)
        finally:
            request_id_var.reset(token)


def current_request_id() -> str | None:
    """The id of the request (or event) being handled, None outside one; events carry it on."""
    value = request_id_var.get()
    return None if value == "-" else value


@contextlib.contextmanager
def request_id_of(request_id: str | None):
    """Handle an event under the request id it carries, so its logs and events follow the request."""
    token = request_id_var.set(request_id or "-")
    try:
        yield
    finally:
        request_id_var.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


def configure_logging(service_name: str, level: str = "INFO") -> None:
    """One JSON line per record with the service and X-Request-Id (idempotent)."""
    root = logging.getLogger()
    if any(getattr(h, "_homesense", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._homesense = True
    handler.addFilter(_RequestIdFilter())
    # Paths and names reach messages (uvicorn's access log too): no CR/LF may forge a line.
    handler.addFilter(EscapeControls())
    handler.setFormatter(JsonLogFormatter(service_name))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's access log goes through our handler so it carries the request id too.
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def install_edges(app: FastAPI, cors_origins: str = "*") -> None:
    """Every error becomes problem+json; request ids and CORS on every response."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    for exc_type in (psycopg.OperationalError, psycopg_pool.PoolTimeout, ConnectionError, TimeoutError):
        app.add_exception_handler(exc_type, _on_unavailable)
    app.add_middleware(RequestContextMiddleware, cors_origins=cors_origins)


async def caller_id(request: Request) -> str:
    """The verified user id of the request's bearer token; 401 without a valid one.

    The service checks the token itself (app.state.verifier, see auth.py) instead of trusting a
    header the gateway sets: a caller that bypasses the gateway proves nothing by network position.
    """
    verifier = getattr(request.app.state, "verifier", None)
    if verifier is None:  # a wiring mistake must not open the door
        raise Unauthorized(TOKEN_FAILURE_DETAIL)
    token = bearer_token(request.headers.get("authorization"))
    return (await verifier.verify(token)).user_id


async def read_json(request: Request) -> dict:
    """The JSON object body, with the core's 413/415/400/422 rules."""
    return decode_json_body(await request.body(), request.headers.get("content-type"))


def location_header(result: Result) -> dict:
    """{"Location": ...} for a result that names what it created, else {}."""
    return {"Location": result.location} if result.location else {}


def result_response(result: Result) -> Response:
    """A command's result (maybe replayed) as a JSON response."""
    return json_response(result.body, result.status, location_header(result))


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response (204 without a body)."""
    if status == 204:
        return Response(status_code=204, headers=headers)
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, headers=headers,
                    media_type="application/json")
