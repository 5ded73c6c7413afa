"""Settings of the telemetry service (HOMESENSE_* environment variables)."""

from stage2_microservices.common.settings import BaseServiceSettings, CallerAuthSettings, DatabaseSettings, NatsSettings


class TelemetrySettings(BaseServiceSettings, DatabaseSettings, NatsSettings, CallerAuthSettings):
    """Own database, NATS, and the devices service for ownership read-through."""

    service_name: str = "telemetry"
    devices_url: str
