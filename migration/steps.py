"""The named migration steps, in order: which component serves each route group at each step.

This table is the strangler map. Everything else (the Envoy routes of the 1x steps, the API
Gateway integrations of the 2x steps, the docs) is derived from it, so the order of the cuts
and what each one moves are stated once. Pure data: no I/O, stdlib only, so `make steps`
runs before any dependency is installed.
"""
from __future__ import annotations

from dataclasses import dataclass

# Route groups of the contract. Each is moved as a whole: its data has one owner at a time.
GROUPS = ("health", "identity", "devices", "readings", "alerts", "push")

MONOLITH = "monolith"            # stage 1, unchanged, behind the edge
LAMBDA = "lambda"                # stage 3 functions behind API Gateway
# Stage 2 services by name: identity, devices, telemetry, alerts, notifier.


@dataclass(frozen=True)
class Step:
    """One runnable topology that serves the whole contract on one base URL."""

    name: str
    title: str
    edge: str                    # what clients talk to: "envoy" or "apigateway"
    owners: dict[str, str]       # route group -> component that serves it
    moved: tuple[str, ...]       # groups whose owner changed since the previous step

    @property
    def health_stage(self) -> str:
        """The `stage` value /health reports at this step (whoever serves /health)."""
        owner = self.owners["health"]
        return {MONOLITH: "monolith", LAMBDA: "serverless"}.get(owner, "microservices")


def _owners(**over: str) -> dict[str, str]:
    base = dict.fromkeys(GROUPS, MONOLITH)
    base.update(over)
    return base


_STAGE2 = dict(health="gateway", identity="identity", devices="devices", readings="telemetry",
               alerts="alerts", push="notifier")

STEPS: tuple[Step, ...] = (
    Step("1a", "Envoy in front of the unchanged monolith", "envoy", _owners(), ()),
    Step("1b", "identity extracted", "envoy", _owners(identity="identity"), ("identity",)),
    Step("1c", "readings, alerts and push extracted; the monolith keeps devices", "envoy",
         _owners(identity="identity", readings="telemetry", alerts="alerts", push="notifier"),
         ("readings", "alerts", "push")),
    Step("1d", "devices extracted: plain stage 2", "envoy", dict(_STAGE2), ("devices", "health")),
    Step("2a", "API Gateway in front of stage 2 (HTTP proxy integrations)", "apigateway",
         dict(_STAGE2), ()),
    Step("2b", "identity moved to Lambda", "apigateway", dict(_STAGE2, identity=LAMBDA),
         ("identity",)),
    Step("2c", "everything on Lambda: plain stage 3", "apigateway", dict.fromkeys(GROUPS, LAMBDA),
         ("health", "devices", "readings", "alerts", "push")),
)
STEP_NAMES = tuple(s.name for s in STEPS)


def step(name: str) -> Step:
    """The step called name (KeyError if there is none)."""
    for s in STEPS:
        if s.name == name:
            return s
    raise KeyError(name)


def previous(name: str) -> Step | None:
    """The step before name, or None for the first."""
    i = STEP_NAMES.index(name)
    return STEPS[i - 1] if i else None
