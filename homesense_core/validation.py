"""Request bodies into small typed values; every field error is collected (query strings: queries.py)."""

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Mapping

from .clock import parse_ts
from .ids import new_id
from .model import DEVICE_KINDS, Device
from .problems import FieldError, FieldErrors, ValidationFailed
from .tokens import DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,32}\Z")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DEFAULT_ESCALATION_SECONDS = 300
MAX_ESCALATION_SECONDS = 86400
MAX_READINGS_PER_BATCH = 500
MAX_FUTURE_SKEW = timedelta(minutes=5)
DEVICE_FIELDS = ("name", "room", "kind", "unit", "low_threshold", "high_threshold",
                 "escalation_after_seconds")
_READ_ONLY_DEVICE_FIELDS = ("id", "created_at", "updated_at")

_BAD = object()  # marks a field that already produced an error


@dataclass(frozen=True)
class NewUser:
    """Validated POST /users body."""

    username: str
    password: str


@dataclass(frozen=True)
class TokenRequest:
    """Validated POST /auth/token body."""

    username: str
    password: str
    expires_in: int


@dataclass(frozen=True)
class DeviceSpec:
    """Validated POST /devices body, defaults filled in."""

    name: str
    room: str
    kind: str
    unit: str
    low_threshold: float | None
    high_threshold: float | None
    escalation_after_seconds: int


@dataclass(frozen=True)
class NewReading:
    """One validated reading of a POST /devices/{id}/readings batch."""

    value: float
    recorded_at: datetime


class _Errors(FieldErrors):
    """FieldErrors whose add() marks the field as already reported."""

    def add(self, field: str, message: str):
        super().add(field, message)
        return _BAD


def _object(body: Any, field: str = "") -> Mapping:
    if not isinstance(body, Mapping):
        raise ValidationFailed([FieldError(field, "must be a JSON object")])
    return body


def _unknown_fields(errs: _Errors, body: Mapping, allowed, prefix: str = ""):
    for key in body:
        if key not in allowed:
            errs.add(f"{prefix}{key}", "is not a known field")


def _text(errs: _Errors, field: str, value: Any, min_len: int, max_len: int):
    if not isinstance(value, str):
        return errs.add(field, "must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be stored or echoed
        return errs.add(field, "must be valid Unicode text")
    if "\x00" in value:  # PostgreSQL text rejects NUL
        return errs.add(field, "must not contain NUL characters")
    if not min_len <= len(value) <= max_len:
        return errs.add(field, f"must be {min_len}..{max_len} characters long")
    return value


def _number(errs: _Errors, field: str, value: Any):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return errs.add(field, "must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        return errs.add(field, "must be a finite number")
    return number


def _integer(errs: _Errors, field: str, value: Any, low: int, high: int):
    # JSON Schema counts 60.0 as an integer, so an integral float is accepted.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return errs.add(field, f"must be an integer between {low} and {high}")
    return value


def parse_new_user(body: Any) -> NewUser:
    """Validate POST /users."""
    body = _object(body)
    errs = _Errors()
    _unknown_fields(errs, body, ("username", "password"))
    username = body.get("username", _BAD)
    if "username" not in body:
        errs.add("username", "is required")
    elif not isinstance(username, str) or USERNAME_RE.match(username) is None:
        errs.add("username", "must be 3..32 characters of a-z, 0-9, '_', '.', '-'")
    if "password" not in body:
        errs.add("password", "is required")
    else:
        password = _text(errs, "password", body["password"], PASSWORD_MIN, PASSWORD_MAX)
    errs.raise_if_any()
    return NewUser(username, password)


def parse_token_request(body: Any) -> TokenRequest:
    """Validate POST /auth/token; username/password are only type-checked (bad ones are 401)."""
    body = _object(body)
    errs = _Errors()
    _unknown_fields(errs, body, ("username", "password", "expires_in"))
    values = {}
    for field in ("username", "password"):
        if field not in body:
            errs.add(field, "is required")
        else:
            values[field] = _text(errs, field, body[field], 0, 1024)
    expires_in = DEFAULT_TOKEN_TTL
    if "expires_in" in body:
        expires_in = _integer(errs, "expires_in", body["expires_in"], 1, MAX_TOKEN_TTL)
    errs.raise_if_any()
    return TokenRequest(values["username"], values["password"], expires_in)


def _device_field(errs: _Errors, field: str, value: Any):
    """Validate one device field; null is allowed only for thresholds."""
    if value is None:
        if field in ("low_threshold", "high_threshold"):
            return None
        return errs.add(field, "must not be null")
    if field == "name":
        return _text(errs, field, value, 1, 100)
    if field == "room":
        return _text(errs, field, value, 0, 100)
    if field == "unit":
        return _text(errs, field, value, 0, 16)
    if field == "kind":
        if not isinstance(value, str) or value not in DEVICE_KINDS:
            return errs.add(field, "must be one of " + ", ".join(DEVICE_KINDS))
        return value
    if field in ("low_threshold", "high_threshold"):
        return _number(errs, field, value)
    return _integer(errs, field, value, 1, MAX_ESCALATION_SECONDS)


def _check_thresholds(errs: _Errors, low, high, field: str):
    if low is _BAD or high is _BAD or low is None or high is None:
        return
    if not low < high:
        errs.add(field, "low_threshold must be less than high_threshold")


def parse_new_device(body: Any) -> DeviceSpec:
    """Validate POST /devices and fill in defaults."""
    body = _object(body)
    errs = _Errors()
    _unknown_fields(errs, body, DEVICE_FIELDS)
    values = {"room": "", "unit": "", "low_threshold": None, "high_threshold": None,
              "escalation_after_seconds": DEFAULT_ESCALATION_SECONDS}
    for field in ("name", "kind"):
        if field not in body:
            values[field] = errs.add(field, "is required")
    for field in DEVICE_FIELDS:
        if field in body:
            values[field] = _device_field(errs, field, body[field])
    _check_thresholds(errs, values["low_threshold"], values["high_threshold"], "low_threshold")
    errs.raise_if_any()
    return DeviceSpec(**{f: values[f] for f in DEVICE_FIELDS})


def new_device(spec: DeviceSpec, owner_id: str, now: datetime, device_id: str | None = None) -> Device:
    """A new Device from a validated spec."""
    return Device(id=device_id or new_id(), owner_id=owner_id, name=spec.name, room=spec.room,
                  kind=spec.kind, unit=spec.unit, low_threshold=spec.low_threshold,
                  high_threshold=spec.high_threshold,
                  escalation_after_seconds=spec.escalation_after_seconds,
                  created_at=now, updated_at=now)


def apply_device_patch(device: Device, body: Any, now: datetime) -> Device:
    """Merge a PATCH body into device; {} returns it unchanged (updated_at untouched)."""
    body = _object(body)
    errs = _Errors()
    for key in body:
        if key in _READ_ONLY_DEVICE_FIELDS:
            errs.add(key, "is read-only")
        elif key not in DEVICE_FIELDS:
            errs.add(key, "is not a known field")
    changes = {f: _device_field(errs, f, body[f]) for f in DEVICE_FIELDS if f in body}
    low = changes.get("low_threshold", device.low_threshold)
    high = changes.get("high_threshold", device.high_threshold)
    _check_thresholds(errs, low, high, "low_threshold" if "low_threshold" in body else "high_threshold")
    errs.raise_if_any()
    if not body:
        return device
    return replace(device, **changes, updated_at=now)


def _recorded_at(errs: _Errors, field: str, value: Any, now: datetime):
    try:
        recorded_at = parse_ts(value)
    except ValueError:
        return errs.add(field, "must be an RFC 3339 date-time with a time zone")
    if recorded_at > now + MAX_FUTURE_SKEW:
        return errs.add(field, "must not be more than 5 minutes in the future")
    return recorded_at


def parse_readings(body: Any, now: datetime) -> list[NewReading]:
    """Validate a readings batch; recorded_at defaults to now."""
    body = _object(body)
    errs = _Errors()
    _unknown_fields(errs, body, ("readings",))
    items = body.get("readings")
    if "readings" not in body:
        errs.add("readings", "is required")
    elif not isinstance(items, list):
        errs.add("readings", "must be an array")
    elif not 1 <= len(items) <= MAX_READINGS_PER_BATCH:
        errs.add("readings", f"must contain 1..{MAX_READINGS_PER_BATCH} items")
    else:
        readings = [_reading(errs, f"readings/{i}", item, now) for i, item in enumerate(items)]
    errs.raise_if_any()
    return readings


def _reading(errs: _Errors, path: str, item: Any, now: datetime):
    if not isinstance(item, Mapping):
        return errs.add(path, "must be a JSON object")
    _unknown_fields(errs, item, ("value", "recorded_at"), prefix=f"{path}/")
    if "value" in item:
        value = _number(errs, f"{path}/value", item["value"])
    else:
        value = errs.add(f"{path}/value", "is required")
    recorded_at = now
    if "recorded_at" in item:
        recorded_at = _recorded_at(errs, f"{path}/recorded_at", item["recorded_at"], now)
    if value is _BAD or recorded_at is _BAD:
        return _BAD
    return NewReading(value, recorded_at)
