"""Typed settings base: every service reads HOMESENSE_* variables and fails fast."""

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class _HomesenseSettings(BaseSettings):
    """HOMESENSE_* variables, unknown ones ignored, immutable once read."""

    model_config = SettingsConfigDict(env_prefix="HOMESENSE_", extra="ignore", frozen=True)


class BaseServiceSettings(_HomesenseSettings):
    """Fields every service has; subclasses add what they need (required ones have no default)."""

    service_name: str
    cors_origins: str = "*"
    log_level: str = "INFO"


class DatabaseSettings(_HomesenseSettings):
    """Mixin for services that own a PostgreSQL database."""

    database_url: str
    db_pool_max: int = 8

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("HOMESENSE_DATABASE_URL must be a postgresql:// URL")
        return value


class NatsSettings(_HomesenseSettings):
    """Mixin for services that publish or consume events."""

    nats_url: str
    # Prefix of subjects and streams; tests use a fresh one so runs never collide.
    events_namespace: str = "homesense"

    @field_validator("nats_url")
    @classmethod
    def _nats_only(cls, value: str) -> str:
        if not value.startswith(("nats://", "tls://")):
            raise ValueError("HOMESENSE_NATS_URL must be a nats:// URL")
        return value

    @field_validator("events_namespace")
    @classmethod
    def _token(cls, value: str) -> str:
        if not value.replace("_", "").replace("-", "").isalnum():
            raise ValueError("HOMESENSE_EVENTS_NAMESPACE must be letters, digits, - or _")
        return value


class CallerAuthSettings(_HomesenseSettings):
    """Mixin for services that verify callers' tokens themselves and call each other."""

    # Where the JWKS comes from (the same one the gateway checks tokens against).
    identity_url: str
    # Shared secret of service-to-service calls (/internal routes); generated per deployment.
    service_token: SecretStr

    @field_validator("service_token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("HOMESENSE_SERVICE_TOKEN must be at least 16 characters")
        return value
