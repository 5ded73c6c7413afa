"""Pure rules shared by every HomeSense stage: no web framework, no database driver."""

CONTRACT_VERSION = "1.0.0"
STAGES = ("monolith", "microservices", "serverless")


def health_body(stage: str) -> dict:
    """Body of GET /health; only `stage` differs between implementations."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    return {"status": "ok", "stage": stage, "version": CONTRACT_VERSION}
