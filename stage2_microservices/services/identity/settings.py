"""Settings of the identity service (HOMESENSE_* environment variables)."""

from pathlib import Path

from stage2_microservices.common.settings import BaseServiceSettings, DatabaseSettings


class IdentitySettings(BaseServiceSettings, DatabaseSettings):
    """Needs its own database and a data dir for the signing key (shared by replicas)."""

    service_name: str = "identity"
    data_dir: Path
