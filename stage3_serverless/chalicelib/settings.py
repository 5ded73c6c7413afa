"""The one typed settings object of the serverless stage, read from the environment."""

import os
from dataclasses import dataclass
from typing import Mapping

from homesense_core.http import parse_origins
from homesense_core.throttle import ThrottlePolicy, parse_limits_spec


@dataclass(frozen=True)
class Settings:
    """Everything the Lambda functions read from their environment."""

    table_name: str
    signing_key_parameter: str
    state_machine_arn: str
    websocket_endpoint: str
    cors_origins: tuple[str, ...]
    throttle: ThrottlePolicy = ThrottlePolicy()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Read and check the environment; a missing required variable fails at first use."""
        env = os.environ if env is None else env
        missing = [n for n in ("TABLE_NAME", "SIGNING_KEY_PARAMETER") if not env.get(n)]
        if missing:
            raise RuntimeError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            table_name=env["TABLE_NAME"],
            signing_key_parameter=env["SIGNING_KEY_PARAMETER"],
            # Only the stream handler starts executions; the adapter checks it when used.
            state_machine_arn=env.get("ESCALATION_STATE_MACHINE_ARN", ""),
            websocket_endpoint=env.get("WEBSOCKET_ENDPOINT", "").rstrip("/"),
            cors_origins=tuple(parse_origins(env.get("HOMESENSE_CORS_ORIGINS"))),
            throttle=ThrottlePolicy.from_env(parse_limits_spec(env.get("HOMESENSE_THROTTLE_LIMITS", ""))),
        )
