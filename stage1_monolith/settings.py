"""Typed settings for the monolith, read once from HOMESENSE_* variables."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from homesense_core.throttle import ThrottlePolicy


class SettingsError(ValueError):
    """An environment value is missing, malformed or unsafe."""


@dataclass(frozen=True)
class Settings:
    """Everything the monolith can be configured with."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    rate_limit_rps: float = 1000.0
    rate_limit_burst: int = 2000
    cors_origins: tuple[str, ...] = ("*",)
    threads: int = 64
    outbox_poll_seconds: float = 0.1
    scheduler_poll_seconds: float = 0.2
    log_level: str = "INFO"
    # Migration facade (off by default; stage 1 alone never sets them): publish device events to
    # this NATS server in stage 2's format, and serve the /internal routes stage 2 services call.
    device_events_nats_url: str | None = None
    events_namespace: str = "homesense"
    internal_api: bool = False
    # The deployment's service token: every /internal call must present it (x-homesense-service-token).
    service_token: str | None = None
    throttle: ThrottlePolicy = ThrottlePolicy()

    def __post_init__(self) -> None:
        if not math.isfinite(self.rate_limit_rps) or self.rate_limit_rps <= 0:
            raise SettingsError("HOMESENSE_RATE_LIMIT_RPS must be a positive number")
        if self.rate_limit_burst < 1:
            raise SettingsError("HOMESENSE_RATE_LIMIT_BURST must be >= 1")
        if not 1 <= self.port <= 65535:
            raise SettingsError("port must be 1..65535")
        if not 1 <= self.threads <= 1024:
            raise SettingsError("HOMESENSE_THREADS must be 1..1024")
        for value, name in ((self.outbox_poll_seconds, "OUTBOX"), (self.scheduler_poll_seconds, "SCHEDULER")):
            # A zero poll interval would spin a core; a long one breaks the 5 s push promise.
            if not 0.01 <= value <= 2.0:
                raise SettingsError(f"HOMESENSE_{name}_POLL_SECONDS must be 0.01..2")
        if not self.cors_origins or any(not o or (o != "*" and "://" not in o) for o in self.cors_origins):
            raise SettingsError("HOMESENSE_CORS_ORIGINS must be '*' or a comma list of origins")
        if self.device_events_nats_url is not None and not self.device_events_nats_url.startswith("nats://"):
            raise SettingsError("HOMESENSE_DEVICE_EVENTS_NATS_URL must be a nats:// URL")
        if self.internal_api and len(self.service_token or "") < 16:
            raise SettingsError("HOMESENSE_INTERNAL_API needs HOMESENSE_SERVICE_TOKEN (at least 16 characters)")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError("HOMESENSE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")

    @property
    def database_path(self) -> Path:
        return self.data_dir / "homesense.sqlite3"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "signing-key.pem"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Read HOMESENSE_* variables; explicit overrides (CLI flags) win."""
        env = os.environ if environ is None else environ
        values: dict = {
            "data_dir": Path(env.get("HOMESENSE_DATA_DIR", "var/stage1")),
            "host": env.get("HOMESENSE_HOST", "127.0.0.1"),
            "port": _number(env, "HOMESENSE_PORT", int, 8000),
            "rate_limit_rps": _number(env, "HOMESENSE_RATE_LIMIT_RPS", float, 1000.0),
            "rate_limit_burst": _number(env, "HOMESENSE_RATE_LIMIT_BURST", int, 2000),
            "cors_origins": tuple(o.strip() for o in env.get("HOMESENSE_CORS_ORIGINS", "*").split(",") if o.strip()),
            "threads": _number(env, "HOMESENSE_THREADS", int, 64),
            "outbox_poll_seconds": _number(env, "HOMESENSE_OUTBOX_POLL_SECONDS", float, 0.1),
            "scheduler_poll_seconds": _number(env, "HOMESENSE_SCHEDULER_POLL_SECONDS", float, 0.2),
            "log_level": env.get("HOMESENSE_LOG_LEVEL", "INFO").upper(),
            "device_events_nats_url": env.get("HOMESENSE_DEVICE_EVENTS_NATS_URL") or None,
            "events_namespace": env.get("HOMESENSE_EVENTS_NAMESPACE", "homesense"),
            "internal_api": env.get("HOMESENSE_INTERNAL_API", "") in ("1", "true", "yes"),
            "service_token": env.get("HOMESENSE_SERVICE_TOKEN") or None,
        }
        try:
            values["throttle"] = ThrottlePolicy.from_env(env)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["data_dir"] = Path(values["data_dir"])
        return cls(**values)


def _number(env: Mapping[str, str], name: str, kind: type, default):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
