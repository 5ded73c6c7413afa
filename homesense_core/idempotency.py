"""Idempotency-Key checks and request fingerprints."""

import hashlib
import json
import re
from datetime import datetime, timedelta

from .problems import Conflict, FieldError, ValidationFailed

IDEMPOTENCY_TTL_SECONDS = 86400
HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}\Z")

PROCEED = "proceed"
REPLAY = "replay"
KEY_REUSED = "was already used with a different request"
IN_PROGRESS = "A request with this Idempotency-Key is still in progress."


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


def is_fresh(created_at: datetime, now: datetime) -> bool:
    """True while a record made at created_at still answers repeats (the 24 h window)."""
    return now - created_at < timedelta(seconds=IDEMPOTENCY_TTL_SECONDS)


def decide(held_fingerprint: str | None, fingerprint: str, *, fresh: bool = True,
           finished: bool = True) -> str:
    """PROCEED or REPLAY for a request whose key already holds a record (None: no record).

    The same key with another body is 422 on the header; a first request that has not
    finished yet (possible only where there is no transaction to wait on) is 409.
    """
    if held_fingerprint is None or not fresh:
        return PROCEED
    if held_fingerprint != fingerprint:
        raise ValidationFailed([FieldError(HEADER, KEY_REUSED)])
    if not finished:
        raise Conflict(IN_PROGRESS)
    return REPLAY
