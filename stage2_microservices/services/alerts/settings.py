"""Settings of the alerts service (HOMESENSE_* environment variables)."""

from stage2_microservices.common.settings import BaseServiceSettings, CallerAuthSettings, DatabaseSettings, NatsSettings


class AlertsSettings(BaseServiceSettings, DatabaseSettings, NatsSettings, CallerAuthSettings):
    """Own database, NATS, and the devices service for the read-through fallback."""

    service_name: str = "alerts"
    devices_url: str
    # How often the escalation scheduler looks for due rows.
    escalation_poll_seconds: float = 0.5
