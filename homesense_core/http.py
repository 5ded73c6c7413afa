"""Cross-cutting HTTP rules: request ids, CORS headers, and what a command answers."""

import re
from dataclasses import dataclass

from .ids import new_id

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}\Z")

CORS_ALLOW_METHODS = "GET,POST,PATCH,DELETE,OPTIONS"
CORS_ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key,X-Request-Id"
CORS_EXPOSE_HEADERS = "Location,X-Request-Id,Retry-After"
CORS_MAX_AGE = "600"


@dataclass(frozen=True)
class Result:
    """What a command answers (and an Idempotency-Key replays): status, JSON body, optional Location."""

    status: int
    body: dict
    location: str | None = None


def valid_request_id(value: object) -> bool:
    """True for a caller-supplied id we may echo back."""
    return isinstance(value, str) and REQUEST_ID_RE.match(value) is not None


def request_id_from(header_value: str | None) -> str:
    """The caller's X-Request-Id when valid, else a new one."""
    return header_value if valid_request_id(header_value) else new_id()


def parse_origins(value: str | None) -> list[str]:
    """HOMESENSE_CORS_ORIGINS (comma list) as a list; unset or empty means ["*"]."""
    origins = [o.strip() for o in (value or "").split(",") if o.strip()]
    return origins or ["*"]


def cors_headers(origin: str | None, allowed_origins: list[str], preflight: bool = False) -> dict:
    """CORS headers for a response (and a preflight); every response carries Allow-Origin."""
    if "*" in allowed_origins:
        headers = {"Access-Control-Allow-Origin": "*"}
    else:
        # A non-listed origin gets a listed one back, which the browser then refuses.
        chosen = origin if origin in allowed_origins else allowed_origins[0]
        headers = {"Access-Control-Allow-Origin": chosen, "Vary": "Origin"}
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    if preflight:
        headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
        headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return headers
