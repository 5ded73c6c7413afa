"""Settings of the identity service (HOMESENSE_* environment variables)."""

from pathlib import Path

from pydantic import PositiveInt

from homesense_core.throttle import ThrottlePolicy

from stage2_microservices.common.settings import BaseServiceSettings, DatabaseSettings


class IdentitySettings(BaseServiceSettings, DatabaseSettings):
    """Needs its own database and a data dir for the signing key (shared by replicas)."""

    service_name: str = "identity"
    data_dir: Path
    # homesense_core.throttle limits (HOMESENSE_LOGIN_USER_FREE_FAILURES, ...); defaults there.
    login_user_free_failures: PositiveInt = ThrottlePolicy().per_username.free_failures
    login_client_free_failures: PositiveInt = ThrottlePolicy().per_client.free_failures
    registrations_per_minute: PositiveInt = ThrottlePolicy().registration.registrations

    def throttle_policy(self) -> ThrottlePolicy:
        """The limits as the core's policy."""
        return ThrottlePolicy.from_env({
            "HOMESENSE_LOGIN_USER_FREE_FAILURES": str(self.login_user_free_failures),
            "HOMESENSE_LOGIN_CLIENT_FREE_FAILURES": str(self.login_client_free_failures),
            "HOMESENSE_REGISTRATIONS_PER_MINUTE": str(self.registrations_per_minute)})
