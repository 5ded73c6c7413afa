"""The notifier verifies tokens like every service (kept as an import path for its callers)."""

from stage2_microservices.common.auth import JwksVerifier, identity_jwks  # noqa: F401
