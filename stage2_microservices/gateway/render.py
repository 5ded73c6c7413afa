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
from homesense_core.problems import PROBLEM_CONTENT_TYPE, PROTOCOL_REFUSALS, protocol_problem
from stage2_microservices import topology

GATEWAY_DIR = Path(__file__).resolve().parent
TEMPLATE = GATEWAY_DIR / "envoy.yaml.tmpl"
LUA_SOURCE = GATEWAY_DIR / "edge.lua"
COMPOSE_CONFIG = GATEWAY_DIR / "envoy.compose.yaml"
# Kubernetes serves the same config (same Service names and ports); kustomize reads files only
# below its own folder, hence a copy (stage2_microservices/k8s/tests compares them).
K8S_CONFIG = GATEWAY_DIR.parent / "k8s" / "base" / "envoy.yaml"
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


def protocol_mappers() -> str:
    """local_reply_config mappers for the codec's refusals other than 400 (mapped in the template)."""
    mappers = []
    for status in sorted(PROTOCOL_REFUSALS):
        if status == 400:
            continue
        problem = protocol_problem(status)
        mappers.append(
            f"- filter: {{ status_code_filter: {{ comparison: {{ op: EQ, value: {{ default_value: {status}, "
            f"runtime_key: homesense.lr{status} }} }} }} }}\n"
            f"  body_format_override:\n"
            f"    content_type: {PROBLEM_CONTENT_TYPE}\n"
            f"    json_format: {json.dumps(problem)}\n")
    return textwrap.indent("".join(mappers), " " * 12).rstrip("\n")


def render(cfg: GatewayConfig) -> str:
    """The complete Envoy YAML for cfg."""
    missing = set(topology.SERVICE_NAMES) - set(cfg.upstreams)
    if missing:
        raise ValueError(f"no upstream address for {sorted(missing)}")
    bucket = token_bucket(cfg.rate_limit_rps, cfg.rate_limit_burst)
    identity_host, identity_port = cfg.upstreams["identity"]
    # The services first, in topology order; any other upstream (the monolith of the migration
    # steps) after them, so stage 2's own config is unchanged by their existence.
    names = (*topology.SERVICE_NAMES, *sorted(set(cfg.upstreams) - set(topology.SERVICE_NAMES)))
    clusters = "".join(
        _CLUSTER.substitute(name=name, cluster_type=cfg.cluster_type, host=host, port=port)
        for name, (host, port) in ((n, cfg.upstreams[n]) for n in names))
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
        protocol_mappers=protocol_mappers(),
    )


# --- the same gateway with its routes served from a file (the migration steps) ----------------
# Route groups name the template's routes; a group's owner is the cluster it is routed to.
STAGE2_OWNERS = {"health": None, "identity": "identity", "devices": "devices", "readings": "telemetry",
                 "alerts": "alerts", "push": "notifier"}
ROUTE_CONFIG_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
WRITE_METHODS_RE = "^(POST|PUT|PATCH|DELETE)$"
FROZEN_DETAIL = "Writes to this resource are paused for a migration cutover; retry in a second."


def _hcm(config: dict) -> dict:
    """The http_connection_manager settings of the public listener."""
    return config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def _file_rds(name: str, routes_file: Path) -> dict:
    return {"route_config_name": name, "config_source": {"resource_api_version": "V3", "path_config_source": {
        "path": str(routes_file), "watched_directory": {"path": str(routes_file.parent)}}}}


def internal_listener(host: str, port: int, routes_file: Path) -> dict:
    """A second listener for service-to-service reads (never public), its routes from a file too."""
    return {"name": "internal", "address": {"socket_address": {"address": host, "port_value": port}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "internal", "rds": _file_rds("internal", routes_file),
                "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}


def internal_routes_document(routes: dict[str, str], version: str = "1") -> dict:
    """The internal listener's RDS file: path prefix -> cluster."""
    table = [{"match": {"prefix": prefix}, "route": {"cluster": cluster}} for prefix, cluster in routes.items()]
    return {"version_info": version, "resources": [{"@type": ROUTE_CONFIG_TYPE, "name": "internal",
                                                    "virtual_hosts": [{"name": "internal", "domains": ["*"],
                                                                       "routes": table}]}]}


def dynamic_bootstrap(cfg: GatewayConfig, routes_file: Path, jwks: dict | None = None,
                      internal: dict | None = None) -> dict:
    """The gateway config with its routes read from routes_file (file-based RDS).

    Envoy watches the file's directory and reloads the routes when a file is renamed into it, so
    routes change at run time without a restart: open connections, WebSockets included, stay up.
    jwks: a fixed key set checked locally instead of fetching identity's (the steps share one key).
    internal: an extra listener (internal_listener()) added as it is.
    """
    import yaml  # imported here: stage 2's runner and compose render text without it

    config = yaml.safe_load(render(cfg))
    hcm = _hcm(config)
    route_config = hcm.pop("route_config")
    hcm["rds"] = _file_rds(route_config["name"], routes_file)
    if internal is not None:
        config["static_resources"]["listeners"].append(internal)
    jwt = next(f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.jwt_authn")
    for provider in jwt["typed_config"]["providers"].values():
        # The monolith checks the token itself, so the edge passes it on instead of stripping it.
        provider["forward"] = True
        if jwks is not None:
            provider.pop("remote_jwks")
            provider["local_jwks"] = {"inline_string": json.dumps(jwks)}
    config["node"] = {"id": "homesense-edge", "cluster": "homesense-edge"}
    return config


def routes_document(cfg: GatewayConfig, owners: dict[str, str | None], frozen: frozenset[str] = frozenset(),
                    version: str = "1") -> dict:
    """The RDS file: the template's routes with each group sent to owners[group].

    owners["health"] None keeps the gateway's own /health answer. A frozen group's writes get a
    503 problem with Retry-After: 1 from the gateway itself (reads still pass).
    """
    import yaml

    route_config = _hcm(yaml.safe_load(render(cfg)))["route_config"]
    routes = []
    for route in route_config["virtual_hosts"][0]["routes"]:
        group = route["name"]
        owner = owners[group]
        if group == "health":
            if owner is None:
                routes.append(route)
            elif not any(r["name"] == "health" for r in routes):
                routes.append({"name": "health", "match": {"path": "/health"}, "route": {"cluster": owner}})
            continue
        if group in frozen:
            match = dict(route["match"])
            match["headers"] = [*match.get("headers", []),
                                {"name": ":method", "string_match": {"safe_regex": {"regex": WRITE_METHODS_RE}}}]
            routes.append({"name": f"{group}-frozen", "match": match,
                           "direct_response": {"status": 503, "body": {"inline_string": FROZEN_DETAIL}},
                           "response_headers_to_add": [{"header": {"key": "Retry-After", "value": "1"},
                                                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]})
        route["route"]["cluster"] = owner
        routes.append(route)
    route_config["virtual_hosts"][0]["routes"] = routes
    return {"version_info": version, "resources": [{"@type": ROUTE_CONFIG_TYPE, **route_config}]}


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
    """Regenerate envoy.compose.yaml and its Kubernetes copy (tests fail while they differ)."""
    for path in (COMPOSE_CONFIG, K8S_CONFIG):
        path.write_text(compose_yaml())
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
