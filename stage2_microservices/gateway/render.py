"""Renders the Envoy config from envoy.yaml.tmpl for the local runner and for docker compose."""
from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from string import Template

from homesense_core import health_body
from stage2_microservices import topology

GATEWAY_DIR = Path(__file__).resolve().parent
TEMPLATE = GATEWAY_DIR / "envoy.yaml.tmpl"
LUA_SOURCE = GATEWAY_DIR / "edge.lua"
COMPOSE_CONFIG = GATEWAY_DIR / "envoy.compose.yaml"
DEFAULT_RATE_LIMIT_RPS = 1000.0
DEFAULT_RATE_LIMIT_BURST = 2000
_ORIGIN_RE = re.compile(r"^(\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$")
_CLUSTER = Template("""\
  - name: ${name}
    type: ${cluster_type}
    dns_lookup_family: V4_ONLY
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        # Close idle upstream connections before uvicorn does (its keep-alive is 5 s), so a
        # request never lands on a connection the service is closing.
        common_http_protocol_options: { idle_timeout: 3s }
        explicit_http_config: { http_protocol_options: {} }
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: ${host}, port_value: ${port} }
""")


@dataclass(frozen=True)
class GatewayConfig:
    """Everything that differs between gateway deployments."""

    listen_host: str
    listen_port: int
    # Unix socket of the admin interface (never TCP: it can rewrite runtime and stop Envoy).
    admin_path: str
    upstreams: dict[str, tuple[str, int]]
    cluster_type: str = "STATIC"
    rate_limit_rps: float = DEFAULT_RATE_LIMIT_RPS
    rate_limit_burst: int = DEFAULT_RATE_LIMIT_BURST
    cors_origins: str = "*"
    access_log_path: str = "/dev/stdout"


@dataclass(frozen=True)
class TokenBucket:
    """Envoy token-bucket numbers for a rate in requests per second."""

    max_tokens: int
    tokens_per_fill: int
    fill_interval: str
    retry_after: int


def token_bucket(rps: float, burst: int) -> TokenBucket:
    """Whole tokens per fill at an interval of at least 50 ms (Envoy's minimum)."""
    if not (rps > 0 and math.isfinite(rps)) or burst < 1:
        raise ValueError("rate limit needs HOMESENSE_RATE_LIMIT_RPS > 0 and HOMESENSE_RATE_LIMIT_BURST >= 1")
    tokens = max(1, round(rps / 20))
    interval = max(0.05, tokens / rps)
    return TokenBucket(burst, tokens, f"{interval:.3f}s", max(1, math.ceil(interval)))


def origins_as_lua(cors_origins: str) -> str:
    """The CORS allow-list as a Lua table literal; refuses anything that is not an origin."""
    origins = [o.strip() for o in cors_origins.split(",") if o.strip()] or ["*"]
    for origin in origins:
        if not _ORIGIN_RE.match(origin):
            raise ValueError(f"HOMESENSE_CORS_ORIGINS: {origin!r} is not an origin")
    return "{ " + ", ".join(json.dumps(o) for o in origins) + " }"


def lua_source(cors_origins: str) -> str:
    """edge.lua with the allow-list filled in."""
    source = LUA_SOURCE.read_text()
    line = 'local CORS_ORIGINS = { "*" }'
    if line not in source:
        raise RuntimeError("edge.lua lost its CORS_ORIGINS line")
    return source.replace(line, f"local CORS_ORIGINS = {origins_as_lua(cors_origins)}")


def render(cfg: GatewayConfig) -> str:
    """The complete Envoy YAML for cfg."""
    missing = set(topology.SERVICE_NAMES) - set(cfg.upstreams)
    if missing:
        raise ValueError(f"no upstream address for {sorted(missing)}")
    bucket = token_bucket(cfg.rate_limit_rps, cfg.rate_limit_burst)
    identity_host, identity_port = cfg.upstreams["identity"]
    clusters = "".join(
        _CLUSTER.substitute(name=name, cluster_type=cfg.cluster_type, host=host, port=port)
        for name, (host, port) in ((n, cfg.upstreams[n]) for n in topology.SERVICE_NAMES))
    return Template(TEMPLATE.read_text()).substitute(
        admin_path=cfg.admin_path,
        listen_host=cfg.listen_host, listen_port=cfg.listen_port,
        access_log_path=cfg.access_log_path,
        health_body=json.dumps(health_body("microservices"), separators=(",", ":")),
        lua_source=textwrap.indent(lua_source(cfg.cors_origins), " " * 18),
        rl_burst=bucket.max_tokens, rl_tokens_per_fill=bucket.tokens_per_fill,
        rl_fill_interval=bucket.fill_interval, rl_retry_after=bucket.retry_after,
        jwks_uri=f"http://{identity_host}:{identity_port}/.well-known/jwks.json",
        clusters=clusters.rstrip("\n"),
    )


def compose_config() -> GatewayConfig:
    """The gateway as docker-compose.yml runs it: DNS names, fixed ports, default limits."""
    return GatewayConfig(
        listen_host="0.0.0.0", listen_port=topology.GATEWAY_PORT,
        admin_path=topology.GATEWAY_ADMIN_SOCKET,
        upstreams={s.name: (s.name, s.port) for s in topology.SERVICES},
        cluster_type="STRICT_DNS",
    )


def compose_yaml() -> str:
    """The committed envoy.compose.yaml, with a do-not-edit banner."""
    banner = ("# GENERATED from envoy.yaml.tmpl by `python -m stage2_microservices.gateway.render`.\n"
              "# Do not edit: change the template and regenerate (a test compares them).\n")
    return banner + render(compose_config())


def main() -> None:
    """Regenerate envoy.compose.yaml (tests fail while it differs from the template)."""
    COMPOSE_CONFIG.write_text(compose_yaml())
    print(f"wrote {COMPOSE_CONFIG}")


if __name__ == "__main__":
    main()
