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


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list) -> dict:
    # json keeps the last of repeated keys; two values for one field is an ambiguous request
    # (a proxy or another parser may read the first), so it is refused on every stage.
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def decode_json_body(raw: bytes, content_type: str | None) -> dict:
    """Decoded JSON object; 413 over 1 MiB, 415 not JSON, 400 unparseable, 422 not an object or a
    repeated key."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    raw = bytes(raw or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if not is_json_content_type(content_type):
        raise UnsupportedMediaType()
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant,
                           object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise ValidationFailed([FieldError(exc.key, "appears more than once")]) from exc
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The body is not valid UTF-8.") from exc
    except RecursionError as exc:
        raise MalformedRequest("The body is nested too deeply.") from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, over-long integers
        raise MalformedRequest(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValidationFailed([FieldError("", "must be a JSON object")])
    return value
