"""Idempotency-Key handling around a POST: replay the first response, refuse a different body."""

from typing import Callable

from homesense_core.http import Result
from homesense_core.idempotency import REPLAY, decide, fingerprint, validate_key

from ..container import Dependencies


def run(deps: Dependencies, user_id: str, key: str | None, method: str, path: str, body: dict,
        action: Callable[[], Result]) -> Result:
    """action() once per (user, key, body) within 24 h; without a key, just action()."""
    if key is None:
        return action()
    validate_key(key)
    digest = fingerprint(method, path, body)
    held = deps.idempotency.claim(user_id, key, digest, deps.clock())
    # claim() returns only a fresh record: the 24 h window is the item's TTL here.
    if held is not None and decide(held.fingerprint, digest, finished=held.response is not None) == REPLAY:
        return held.response
    try:
        response = action()
    except Exception:
        # A failed request stores nothing, so the client may retry with the same key.
        deps.idempotency.release(user_id, key)
        raise
    deps.idempotency.complete(user_id, key, response)
    return response
