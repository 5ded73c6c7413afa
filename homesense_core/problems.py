"""RFC 9457 problem details: the one error shape of every stage."""

import json
from dataclasses import dataclass
from typing import Iterable

PROBLEM_CONTENT_TYPE = "application/problem+json"

PROBLEM_TYPES = {
    "malformed-request": (400, "Malformed request"),
    "unauthorized": (401, "Unauthorized"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation-error": (422, "Validation error"),
    "rate-limited": (429, "Too many requests"),
    "internal-error": (500, "Internal server error"),
    "service-unavailable": (503, "Service unavailable"),
}

_DEFAULT_DETAIL = {
    "malformed-request": "The request could not be parsed.",
    "unauthorized": "A valid bearer token is required.",
    "not-found": "The requested resource does not exist.",
    "method-not-allowed": "The method is not allowed on this resource.",
    "conflict": "The request conflicts with the current state of the resource.",
    "payload-too-large": "The request body is larger than 1 MiB.",
    "unsupported-media-type": "The request body must be application/json.",
    "validation-error": "The request is not valid.",
    "rate-limited": "Too many requests; retry later.",
    "internal-error": "An unexpected error occurred.",
    "service-unavailable": "The service is temporarily unavailable.",
}


@dataclass(frozen=True)
class FieldError:
    """One invalid input; field is a path such as readings/0/value."""

    field: str
    message: str

    def to_dict(self) -> dict:
        """JSON form used in the errors array."""
        return {"field": self.field, "message": self.message}


def problem_dict(slug: str, detail: str | None = None, errors=None) -> dict:
    """The JSON body of a problem; errors appear only for validation-error."""
    status, title = PROBLEM_TYPES[slug]
    body = {"type": f"/problems/{slug}", "title": title, "status": status,
            "detail": detail or _DEFAULT_DETAIL[slug]}
    if slug == "validation-error":
        body["errors"] = [e.to_dict() if isinstance(e, FieldError) else dict(e) for e in errors or []]
    return body


def slug_for_status(status: int) -> str:
    """Problem slug for an HTTP status (framework errors); unknown 4xx/5xx map to the nearest."""
    for slug, (code, _) in PROBLEM_TYPES.items():
        if code == status:
            return slug
    return "malformed-request" if 400 <= status < 500 else "internal-error"


class ProblemError(Exception):
    """An error that maps to one problem type; raise it anywhere, render it at the edge."""

    slug = "internal-error"

    def __init__(self, detail: str | None = None, errors: Iterable[FieldError] = (),
                 headers: dict | None = None):
        self.status, self.title = PROBLEM_TYPES[self.slug]
        self.detail = detail or _DEFAULT_DETAIL[self.slug]
        self.errors = list(errors)
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def to_dict(self) -> dict:
        """The problem+json body."""
        return problem_dict(self.slug, self.detail, self.errors)


class MalformedRequest(ProblemError):
    """400: the body or request could not be parsed."""

    slug = "malformed-request"


class Unauthorized(ProblemError):
    """401: missing or invalid credentials."""

    slug = "unauthorized"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class NotFound(ProblemError):
    """404: unknown route, or a resource the caller may not see."""

    slug = "not-found"


def not_found(resource: str) -> NotFound:
    """The one 404 wording for a resource, e.g. not_found("Device"): "Device not found."."""
    return NotFound(f"{resource} not found.")


def owned(thing, owner_id: str, resource: str):
    """The thing if it exists and belongs to owner_id; another user's is not found, never 403."""
    if thing is None or thing.owner_id != owner_id:
        raise not_found(resource)
    return thing


class MethodNotAllowed(ProblemError):
    """405: the route exists but not with this method."""

    slug = "method-not-allowed"

    def __init__(self, detail: str | None = None, allow: Iterable[str] | None = None):
        allow = list(allow or [])
        super().__init__(detail, headers={"Allow": ", ".join(allow)} if allow else None)


class Conflict(ProblemError):
    """409: the state of the resource forbids the request."""

    slug = "conflict"


class PayloadTooLarge(ProblemError):
    """413: body over 1 MiB."""

    slug = "payload-too-large"


class UnsupportedMediaType(ProblemError):
    """415: the body is not JSON."""

    slug = "unsupported-media-type"


class ValidationFailed(ProblemError):
    """422: well-formed input that breaks the contract's rules."""

    slug = "validation-error"

    def __init__(self, errors: Iterable[FieldError], detail: str | None = None):
        errors = list(errors)
        if detail is None:
            detail = "; ".join(f"{e.field or 'body'}: {e.message}" for e in errors[:5]) or None
        super().__init__(detail, errors)


class FieldErrors:
    """Collects field errors so the caller sees all of them at once."""

    def __init__(self):
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        """Record one error."""
        self.items.append(FieldError(field, message))

    def raise_if_any(self) -> None:
        """ValidationFailed with every recorded error, if there is one."""
        if self.items:
            raise ValidationFailed(self.items)


class RateLimited(ProblemError):
    """429: the token bucket is empty."""

    slug = "rate-limited"

    def __init__(self, retry_after: int, detail: str | None = None):
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail, headers={"Retry-After": str(self.retry_after)})


class InternalError(ProblemError):
    """500: a bug; the detail never leaks internals."""

    slug = "internal-error"


class ServiceUnavailable(ProblemError):
    """503: a dependency is down; Retry-After tells the client it may send the same request again."""

    slug = "service-unavailable"
    RETRY_AFTER_S = 1

    def __init__(self, detail: str | None = None, errors: Iterable[FieldError] = (),
                 headers: dict | None = None):
        super().__init__(detail, errors, {"Retry-After": str(self.RETRY_AFTER_S), **(headers or {})})


# One wording per refusal in every stage, so a client (or a diff of two stages) sees no difference.

def username_taken() -> Conflict:
    """409 for POST /users with a username someone has."""
    return Conflict("The username is already taken.")


def bad_credentials() -> Unauthorized:
    """401 for POST /auth/token: the same answer for an unknown user and a wrong password."""
    return Unauthorized("Unknown user or wrong password.")


def account_gone() -> Unauthorized:
    """401 for a valid token whose account no longer exists."""
    return Unauthorized("The account no longer exists.")


# Refusals of the HTTP layer itself (gunicorn, Envoy, the emulator's server), before any route
# runs: they keep the status that layer chose, which says more than a bare 400, and are the
# malformed-request problem with that status. Every stage renders them from this table.
PROTOCOL_REFUSALS = {
    400: ("Malformed request", "The request could not be parsed."),
    414: ("URI too long", "The request line is too long."),
    426: ("Upgrade required", "This HTTP version is not supported; use HTTP/1.1."),
    431: ("Request header fields too large", "The request headers are too large."),
}


def protocol_problem(status: int) -> dict:
    """The problem+json body for a refusal of the HTTP layer: 5xx is internal-error, other 4xx 400."""
    if status >= 500:
        return problem_dict("internal-error")
    status = status if status in PROTOCOL_REFUSALS else 400
    title, detail = PROTOCOL_REFUSALS[status]
    return {"type": "/problems/malformed-request", "title": title, "status": status, "detail": detail}

def protocol_problem_response(status: int, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole HTTP/1.1 response (Connection: close) carrying protocol_problem(status)."""
    problem = protocol_problem(status)
    body = json.dumps(problem).encode()
    lines = [f"HTTP/1.1 {problem['status']} {problem['title']}", "Connection: close",
             f"Content-Type: {PROBLEM_CONTENT_TYPE}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in extra_headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
