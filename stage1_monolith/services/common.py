"""Types shared by the use cases: the unit-of-work factory, the clock, idempotency records."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from homesense_core.http import Result
from homesense_core.idempotency import REPLAY, decide, is_fresh

from stage1_monolith.adapters.ports import StoredResponse, UnitOfWork

Clock = Callable[[], datetime]
Publish = Callable[[str, dict], None]  # (owner user id, push message)


class UnitOfWorkFactory(Protocol):
    def __call__(self, write: bool = False) -> UnitOfWork: ...


@dataclass(frozen=True)
class Idempotency:
    """A validated Idempotency-Key and the fingerprint of the request it came with."""

    key: str
    fingerprint: str


def replay(uow: UnitOfWork, user_id: str, idem: Idempotency | None, now: datetime) -> Result | None:
    """The stored first response for this key, if still fresh; 422 if the request differs."""
    if idem is None:
        return None
    stored = uow.idempotency.get(user_id, idem.key)
    if stored is None or decide(stored.fingerprint, idem.fingerprint,
                                fresh=is_fresh(stored.created_at, now)) != REPLAY:
        return None
    return Result(stored.status, stored.body, stored.location)


def remember(uow: UnitOfWork, user_id: str, idem: Idempotency | None, result: Result, now: datetime) -> None:
    """Store the first response under the key (in the same transaction as the effect)."""
    if idem is not None:
        uow.idempotency.put(user_id, idem.key, StoredResponse(idem.fingerprint, result.status, result.body, result.location, now))


