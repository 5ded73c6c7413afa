"""Login throttling with backoff, and a registration budget: the rules, storage left to each stage.

POST /auth/token is throttled per username and per client address. From a key's
`free_failures`-th failed login on, each failure locks the key for base * 2**(n - free) seconds
(capped), during which every login for that key is refused with 429 + Retry-After *before* the
password is checked. A success clears the username's record (not the client's). Unknown
usernames are throttled exactly like real ones, so 429 reveals nothing about who exists.
POST /users is limited per client address to `registrations` per `window_seconds`.

Stages keep the records where their state lives (stage 1 in process memory, stage 2 in the
identity database, stage 3 in DynamoDB with conditional writes) behind ThrottleStore.
"""

import math
import threading
from dataclasses import dataclass, replace
from typing import Callable, Mapping

from .problems import RateLimited


@dataclass(frozen=True)
class Backoff:
    """How many failures are free, and how the lock grows after them."""

    free_failures: int
    base_seconds: float = 1.0
    max_seconds: float = 900.0
    # A key with no failure for this long starts over (longer than any lock).
    forget_after_seconds: float = 3600.0


@dataclass(frozen=True)
class Record:
    """What is remembered about one key (a username, a client address)."""

    failures: int = 0
    last_at: float = 0.0       # epoch seconds of the last counted event
    locked_until: float = 0.0  # epoch seconds; 0 when never locked


def retry_after(record: Record | None, now: float) -> int:
    """Whole seconds until the key may try again; 0 when it may now."""
    if record is None or record.locked_until <= now:
        return 0
    return max(1, math.ceil(record.locked_until - now))


def after_failure(policy: Backoff, record: Record | None, now: float) -> Record:
    """The record once one more failure has happened at now."""
    if record is None or now - record.last_at > policy.forget_after_seconds:
        record = Record()
    failures = record.failures + 1
    locked_until = record.locked_until
    if failures >= policy.free_failures:
        # Doubling from the free_failures-th failure on: 1 s, 2 s, 4 s, ... up to max_seconds.
        lock = min(policy.max_seconds, policy.base_seconds * 2 ** min(failures - policy.free_failures, 32))
        locked_until = now + lock
    return Record(failures, now, locked_until)


def after_registration(limit: "RegistrationLimit", record: Record | None, now: float) -> Record:
    """Fixed window: the record counts registrations since last_at (the window's start)."""
    if record is None or now - record.last_at >= limit.window_seconds:
        record = Record(0, now, 0.0)
    count = record.failures + 1
    locked_until = record.last_at + limit.window_seconds if count >= limit.registrations else 0.0
    return replace(record, failures=count, locked_until=locked_until)


@dataclass(frozen=True)
class RegistrationLimit:
    """At most `registrations` new accounts per client address per window."""

    registrations: int
    window_seconds: float = 60.0


@dataclass(frozen=True)
class ThrottlePolicy:
    """Every limit of the account routes; from_env reads the HOMESENSE_* overrides."""

    per_username: Backoff = Backoff(free_failures=5)
    per_client: Backoff = Backoff(free_failures=500)
    registration: RegistrationLimit = RegistrationLimit(registrations=1000)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "ThrottlePolicy":
        """Defaults, with HOMESENSE_LOGIN_USER_FREE_FAILURES, HOMESENSE_LOGIN_CLIENT_FREE_FAILURES
        and HOMESENSE_REGISTRATIONS_PER_MINUTE (positive integers) when set."""
        def number(name: str, default: int) -> int:
            raw = env.get(name)
            if raw in (None, ""):
                return default
            if not raw.isdigit() or int(raw) < 1:
                raise ValueError(f"{name} must be a positive integer")
            return int(raw)

        return cls(Backoff(number("HOMESENSE_LOGIN_USER_FREE_FAILURES", 5)),
                   Backoff(number("HOMESENSE_LOGIN_CLIENT_FREE_FAILURES", 500)),
                   RegistrationLimit(number("HOMESENSE_REGISTRATIONS_PER_MINUTE", 1000)))


THROTTLE_ENV = ("HOMESENSE_LOGIN_USER_FREE_FAILURES", "HOMESENSE_LOGIN_CLIENT_FREE_FAILURES",
                "HOMESENSE_REGISTRATIONS_PER_MINUTE")


def limits_spec(env: Mapping[str, str]) -> str:
    """The throttle variables set in env as one "NAME=value;..." string (one stack parameter)."""
    return ";".join(f"{name}={env[name]}" for name in THROTTLE_ENV if env.get(name))


def parse_limits_spec(spec: str) -> dict[str, str]:
    """Inverse of limits_spec."""
    pairs = (part.partition("=") for part in (spec or "").split(";") if part)
    return {name: value for name, _, value in pairs if name in THROTTLE_ENV}


Update = Callable[[Record | None], Record]


class ThrottleStore:
    """Where records live; update must be atomic per key (a lock, a row lock, a conditional write)."""

    def get(self, key: str) -> Record | None:
        """The record of key, None if there is none."""
        raise NotImplementedError

    def update(self, key: str, change: Update, now: float) -> Record:
        """Store change(current) for key atomically and return it."""
        raise NotImplementedError


class MemoryThrottleStore(ThrottleStore):
    """Process memory (stage 1's single process; tests). Keys idle past an hour are pruned."""

    def __init__(self, max_keys: int = 100_000):
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()
        self.max_keys = max_keys

    def get(self, key):
        with self._lock:
            return self._records.get(key)

    def update(self, key, change, now):
        with self._lock:
            record = change(self._records.get(key))
            if key not in self._records and len(self._records) >= self.max_keys:
                self._records = {k: r for k, r in self._records.items()
                                 if r.locked_until > now or now - r.last_at < 3600}
            self._records[key] = record
            return record


def user_key(username: str) -> str:
    """Usernames are matched case-insensitively here, so case variants share one budget."""
    return "login-user#" + username.casefold()


def client_key(client: str) -> str:
    return "login-client#" + (client or "unknown")


def registration_key(client: str) -> str:
    return "register-client#" + (client or "unknown")


class AccountThrottle:
    """The rule applied to a store: call check_login before verifying a password, then
    login_failed or login_succeeded; check_registration before creating an account."""

    def __init__(self, store: ThrottleStore, policy: ThrottlePolicy = ThrottlePolicy()):
        self.store, self.policy = store, policy

    def check_login(self, username: str, client: str, now: float) -> None:
        """RateLimited (429 + Retry-After) while the username or the client is locked."""
        wait = max(retry_after(self.store.get(user_key(username)), now),
                   retry_after(self.store.get(client_key(client)), now))
        if wait:
            raise RateLimited(wait, "Too many failed logins; retry later.")

    def login_failed(self, username: str, client: str, now: float) -> None:
        """Count one failure against both keys."""
        self.store.update(user_key(username), lambda r: after_failure(self.policy.per_username, r, now), now)
        self.store.update(client_key(client), lambda r: after_failure(self.policy.per_client, r, now), now)

    def login_succeeded(self, username: str, now: float) -> None:
        """The username starts over; the client's count stands (one good password proves nothing
        about the other names a client tried)."""
        self.store.update(user_key(username), lambda r: Record(0, now, 0.0), now)

    def check_registration(self, client: str, now: float) -> None:
        """Count one registration; RateLimited when the client's window is used up."""
        record = self.store.get(registration_key(client))
        wait = retry_after(record, now)
        if wait:
            raise RateLimited(wait, "Too many new accounts from this client; retry later.")
        self.store.update(registration_key(client),
                          lambda r: after_registration(self.policy.registration, r, now), now)
