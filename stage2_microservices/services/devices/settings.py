"""Settings of the devices service (HOMESENSE_* environment variables)."""

from stage2_microservices.common.settings import BaseServiceSettings, CallerAuthSettings, DatabaseSettings, NatsSettings


class DevicesSettings(BaseServiceSettings, DatabaseSettings, NatsSettings, CallerAuthSettings):
    """Needs its own database and NATS (device events go out through the outbox)."""

    service_name: str = "devices"
