"""Idempotency-Key checks and request fingerprints."""

import hashlib
import json
import re

from .problems import FieldError, ValidationFailed

IDEMPOTENCY_TTL_SECONDS = 86400
HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}\Z")


def validate_key(key: str) -> str:
    """The key if it is 1..255 visible ASCII characters; ValidationFailed otherwise."""
    if not isinstance(key, str) or _KEY_RE.match(key) is None:
        raise ValidationFailed([FieldError(HEADER, "must be 1..255 visible ASCII characters")])
    return key


def fingerprint(method: str, path: str, body: dict | None) -> str:
    """SHA-256 hex over method, path and canonical JSON, so key order and spacing do not matter."""
    canonical = "" if body is None else json.dumps(body, sort_keys=True, separators=(",", ":"))
    data = f"{method.upper()}\n{path}\n{canonical}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()
