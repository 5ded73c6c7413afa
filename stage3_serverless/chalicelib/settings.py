"""The one typed settings object of the serverless stage, read from the environment."""

import os
from dataclasses import dataclass
from typing import Mapping

from homesense_core.http import parse_origins
from homesense_core.throttle import ThrottlePolicy, parse_limits_spec


DEFAULT_PUBLIC_BASE_URL = "https://{host}/{stage}"


@dataclass(frozen=True)
class Settings:
    """Everything the Lambda functions read from their environment."""

    table_name: str
    signing_key_parameter: str
    state_machine_arn: str
    websocket_endpoint: str
    cors_origins: tuple[str, ...]
    throttle: ThrottlePolicy = ThrottlePolicy()
    # Where clients reach the REST API, for the served docs and dashboard: {host}, {api_id} and
    # {stage} are filled in per request. The default is API Gateway's own invoke URL.
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL

    @staticmethod
    def stream_arn_from_env(env: Mapping[str, str] | None = None) -> str:
        """TABLE_STREAM_ARN alone: the stream handler's decorator needs it when app.py is imported."""
        env = os.environ if env is None else env
        if not env.get("TABLE_STREAM_ARN"):
            raise RuntimeError("missing environment variables: TABLE_STREAM_ARN")
        return env["TABLE_STREAM_ARN"]

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
            public_base_url=env.get("PUBLIC_BASE_URL") or DEFAULT_PUBLIC_BASE_URL,
            throttle=ThrottlePolicy.from_env(parse_limits_spec(env.get("HOMESENSE_THROTTLE_LIMITS", ""))),
        )
