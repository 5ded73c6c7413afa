"""Settings of the notifier service (HOMESENSE_* environment variables)."""

from stage2_microservices.common.settings import BaseServiceSettings, NatsSettings


class NotifierSettings(BaseServiceSettings, NatsSettings):
    """No database: NATS for alert events, identity for the JWKS."""

    service_name: str = "notifier"
    identity_url: str
