"""Turn a raw request body into a JSON object, or the right problem."""

import json
import re

from .problems import (FieldError, MalformedRequest, PayloadTooLarge,
                       UnsupportedMediaType, ValidationFailed)

MAX_BODY_BYTES = 1024 * 1024

_JSON_TYPE = re.compile(r"application/(?:json|[a-z0-9!#$&^_.+-]+\+json)\Z")


def is_json_content_type(content_type: str | None) -> bool:
    """True for application/json or application/*+json, parameters allowed."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return _JSON_TYPE.match(media) is not None


def _reject_constant(name: str):
    # json accepts NaN/Infinity by default; they are not JSON (RFC 8259).
    raise ValueError(f"{name} is not valid JSON")


def decode_json_body(raw: bytes, content_type: str | None) -> dict:
    """Decoded JSON object; 413 over 1 MiB, 415 not JSON, 400 unparseable, 422 not an object."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    raw = bytes(raw or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if not is_json_content_type(content_type):
        raise UnsupportedMediaType()
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The body is not valid UTF-8.") from exc
    except RecursionError as exc:
        raise MalformedRequest("The body is nested too deeply.") from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, over-long integers
        raise MalformedRequest(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValidationFailed([FieldError("", "must be a JSON object")])
    return value
