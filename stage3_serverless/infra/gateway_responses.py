"""API Gateway's own errors as problem+json, generated from homesense_core so titles never drift."""

from __future__ import annotations

import json

from homesense_core.http import CORS_EXPOSE_HEADERS
from homesense_core.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES

# API Gateway response type -> (problem slug, fixed detail or None for the gateway's own message).
RESPONSE_TYPES: dict[str, tuple[str, str | None]] = {
    # An unknown path or verb is "Missing Authentication Token" (403) in API Gateway.
    "MISSING_AUTHENTICATION_TOKEN": ("not-found", "No such route."),
    "RESOURCE_NOT_FOUND": ("not-found", None),
    "UNAUTHORIZED": ("unauthorized", "A valid bearer token is required."),
    "ACCESS_DENIED": ("unauthorized", "A valid bearer token is required."),
    "EXPIRED_TOKEN": ("unauthorized", "A valid bearer token is required."),
    "INVALID_SIGNATURE": ("unauthorized", "A valid bearer token is required."),
    "INVALID_API_KEY": ("unauthorized", "A valid bearer token is required."),
    "BAD_REQUEST_BODY": ("malformed-request", None),
    "BAD_REQUEST_PARAMETERS": ("malformed-request", None),
    "REQUEST_TOO_LARGE": ("payload-too-large", "The request body is larger than 1 MiB."),
    "UNSUPPORTED_MEDIA_TYPE": ("unsupported-media-type", None),
    "THROTTLED": ("rate-limited", "Too many requests; retry later."),
    "QUOTA_EXCEEDED": ("rate-limited", "Too many requests; retry later."),
    "INTEGRATION_TIMEOUT": ("service-unavailable", "The backend did not answer in time."),
    "INTEGRATION_FAILURE": ("service-unavailable", "The backend could not be reached."),
    "AUTHORIZER_FAILURE": ("internal-error", "The authorizer failed."),
    "AUTHORIZER_CONFIGURATION_ERROR": ("internal-error", "The authorizer failed."),
    "API_CONFIGURATION_ERROR": ("internal-error", None),
    "DEFAULT_4XX": ("malformed-request", None),
    "DEFAULT_5XX": ("internal-error", None),
}

# Header values are mapping expressions: quoted literals, or request/context values.
_EXTRA_HEADERS: dict[str, dict[str, str]] = {
    "unauthorized": {"WWW-Authenticate": "'Bearer'"},
    # API Gateway refills its bucket continuously; one second is always enough for one token.
    "rate-limited": {"Retry-After": "'1'"},
}


def _template(slug: str, detail: str | None) -> str:
    """The body template; the gateway's message is already a JSON string literal."""
    status, title = PROBLEM_TYPES[slug]
    head = json.dumps({"type": f"/problems/{slug}", "title": title, "status": status})[:-1]
    detail_json = json.dumps(detail) if detail is not None else "$context.error.messageString"
    return f'{head}, "detail": {detail_json}}}'


def gateway_responses(allow_origin: object) -> dict:
    """The x-amazon-apigateway-gateway-responses extension; allow_origin may be an intrinsic."""
    responses = {}
    for response_type, (slug, detail) in RESPONSE_TYPES.items():
        status, _ = PROBLEM_TYPES[slug]
        headers = {
            "Content-Type": f"'{PROBLEM_CONTENT_TYPE}'",
            "Access-Control-Allow-Origin": allow_origin,
            "Access-Control-Expose-Headers": f"'{CORS_EXPOSE_HEADERS}'",
            # A mapping has one source and no condition, so the gateway cannot echo a valid
            # caller id and replace an invalid one; its own (always valid, fresh) id is sent.
            "X-Request-Id": "context.requestId",
            **_EXTRA_HEADERS.get(slug, {}),
        }
        responses[response_type] = {
            "statusCode": str(status),
            "responseParameters": {f"gatewayresponse.header.{k}": v for k, v in headers.items()},
            "responseTemplates": {"application/json": _template(slug, detail)},
        }
    return responses
