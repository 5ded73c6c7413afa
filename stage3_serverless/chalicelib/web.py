"""The HTTP edge: problem+json for every error, CORS, X-Request-Id, and the caller's identity."""

import functools
import logging

from chalice import Chalice, Response

from homesense_core.bodies import decode_json_body
from homesense_core.http import REQUEST_ID_HEADER, Result, cors_headers, request_id_from
from homesense_core.problems import (PROBLEM_CONTENT_TYPE, InternalError, MethodNotAllowed, NotFound,
                                     ProblemError, ServiceUnavailable, Unauthorized, problem_dict,
                                     slug_for_status)

from . import container, logs
from .aws_clients import unavailable

log = logging.getLogger("homesense.web")

# Every route accepts any media type: Chalice would answer 415 itself, before our code;
# routes that take a body let decode_json_body answer 413/415/400.
ANY_CONTENT = ["*/*"]
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# API Gateway sends every path no route matches here ({proxy+} is greedy; it never matches "/"),
# so unknown paths get the app's preflight, 404, CORS and X-Request-Id instead of a gateway response.
CATCH_ALL_PATHS = ("/", "/{proxy+}")


def current_request_id() -> str | None:
    """The X-Request-Id of the request being handled (None outside one): events carry it on."""
    return logs.request_id.get()


def problem_response(exc: ProblemError) -> Response:
    """The problem+json response of a ProblemError."""
    return Response(body=exc.to_dict(), status_code=exc.status,
                    headers={"Content-Type": PROBLEM_CONTENT_TYPE, **exc.headers})


def handles_problems(view):
    """Turn ProblemError into its response, AWS outages into 503, anything else into a logged 500."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except ProblemError as exc:
            return problem_response(exc)
        except Exception as exc:
            log.exception("unhandled error")
            if unavailable(exc):
                return problem_response(ServiceUnavailable(headers={"Retry-After": "1"}))
            return problem_response(InternalError())
    return wrapper


def as_response(stored: Result) -> Response:
    """A service result (maybe replayed) as an HTTP response."""
    headers = {"Location": stored.location} if stored.location else {}
    return Response(body=stored.body, status_code=stored.status, headers=headers)


def json_body(request) -> dict:
    """The request body as a JSON object, or the contract's 413/415/400/422."""
    return decode_json_body(request.raw_body or b"", request.headers.get("content-type"))


def query(request) -> dict:
    """Query parameters, one (the last) value each."""
    params = request.query_params or {}
    return {k: params[k] for k in params}


def caller(request) -> tuple[str, str]:
    """(user id, username) put in the request context by the jwt_auth authorizer."""
    context = (request.context or {}).get("authorizer") or {}
    if not context.get("user_id"):
        raise Unauthorized()  # only reachable if a route lost its authorizer
    return context["user_id"], context.get("username", "")


def _as_problem(response: Response) -> Response:
    """Chalice's own error bodies (405, 415, 500, ...) rewritten as problem+json."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = PROBLEM_CONTENT_TYPE
    return Response(body=problem_dict(slug_for_status(response.status_code)),
                    status_code=response.status_code, headers=headers)


def edge(event, get_response):
    """HTTP middleware: request id, CORS headers and problem+json on every response."""
    request_id = request_id_from(event.headers.get("x-request-id"))
    token = logs.request_id.set(request_id)
    try:
        response = get_response(event)
    except Exception:
        log.exception("unhandled error")
        response = problem_response(InternalError())
    finally:
        logs.request_id.reset(token)
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    if response.status_code >= 400 and not content_type.startswith(PROBLEM_CONTENT_TYPE):
        response = _as_problem(response)
    try:
        origins = list(container.get().settings.cors_origins)
    except Exception:  # CORS must not depend on a working configuration
        origins = ["*"]
    preflight = event.method == "OPTIONS"
    response.headers.update(cors_headers(event.headers.get("origin"), origins, preflight=preflight))
    response.headers[REQUEST_ID_HEADER] = request_id
    # event.path is the matched route (e.g. /{proxy+}); the request context has the real path.
    logs.record(request_id=request_id, method=event.method, route=event.path,
                path=(event.context or {}).get("path"), status=response.status_code)
    return response


def _preflight(**_params):
    return Response(body="", status_code=204)


def _not_allowed(allowed):
    @handles_problems
    def view(**_params):
        raise MethodNotAllowed(allow=allowed)
    return view


@handles_problems
def _unknown_route(**_params):
    raise NotFound("No such route.")


def complete_routes(app: Chalice) -> None:
    """Known paths answer OPTIONS (preflight, no auth) and 405 for other methods; all others 404."""
    known = sorted(p for p in app.routes if p not in CATCH_ALL_PATHS)
    for index, path in enumerate(known):
        methods = app.routes[path]
        present = [m for m in ALL_METHODS if m in methods]
        allowed = present + ["OPTIONS"]
        if "OPTIONS" not in methods:
            app.route(path, methods=["OPTIONS"], content_types=ANY_CONTENT, name=f"preflight_{index}")(_preflight)
        others = [m for m in ALL_METHODS if m not in methods]
        if "GET" in methods and "HEAD" not in methods:
            # HEAD is GET without the body on every stage (RFC 9110 9.3.2): the same view and
            # authorizer; the gateway's HTTP server sends the headers only.
            get = methods["GET"]
            app.route(path, methods=["HEAD"], authorizer=get.authorizer, content_types=ANY_CONTENT,
                      name=f"head_{index}")(get.view_function)
        elif "GET" not in methods:
            others.append("HEAD")
        if others:
            app.route(path, methods=others, content_types=ANY_CONTENT,
                      name=f"method_not_allowed_{index}")(_not_allowed(allowed))
    for index, path in enumerate(CATCH_ALL_PATHS):
        if path in app.routes:
            raise ValueError(f"{path} is reserved for unknown routes")
        app.route(path, methods=["OPTIONS"], content_types=ANY_CONTENT,
                  name=f"preflight_unknown_{index}")(_preflight)
        # No authorizer: an unknown path is 404 with or without a token.
        app.route(path, methods=[*ALL_METHODS, "HEAD"], content_types=ANY_CONTENT,
                  name=f"not_found_{index}")(_unknown_route)
