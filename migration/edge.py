"""The 1x migration steps: stage 2's Envoy gateway in front of the monolith, services extracted one by one.

One process tree serves a step on one base URL: the unchanged monolith (`python -m stage1_monolith
serve`), the stage 2 services the step's owners name (with their PostgreSQL and NATS), and Envoy
rendered from stage 2's own template (stage2_microservices/gateway/render.py). Envoy reads its
routes from a file (file-based RDS): a cutover renames a new routes file into the watched
directory and Envoy swaps the routes without a restart, so open connections (WebSockets too)
survive wherever their owner stays the same.

`run_step(step, host, port, data_dir, control)` follows the launcher protocol of
docs/dev/INTERFACES.md; with control=True it also reads `cutover NAME` / `rollback NAME` from stdin
(see migration/edge_cutover.py for what a cutover does).
"""
from __future__ import annotations

import dataclasses
import http.client
import json
import os
import socket
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

from stage2_microservices import topology
from stage2_microservices.gateway import render
from stage2_microservices.local.processes import ManagedProcess, StartError, free_port, http_ok
from stage2_microservices.local.runner import LocalTopology, _envoy_binary

from migration.steps import MONOLITH, Step

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "HOMESENSE_READY "


def _stderr(message: str) -> None:
    print(f"[edge] {message}", file=sys.stderr, flush=True)


def cluster_of(owner: str) -> str | None:
    """The Envoy cluster serving a group owned by owner (None: the gateway answers itself)."""
    return None if owner == "gateway" else owner


class _Services(LocalTopology):
    """Stage 2's local runner, with the devices URL pointed at the edge's internal listener."""

    def __init__(self, data_dir: Path, host: str, internal_url: str, env: dict):
        self.internal_url = internal_url
        # Port 0 would be the gateway's; stage 2's own gateway never starts here (ours does).
        super().__init__(data_dir, host, free_port(host), env=env, progress=_stderr)

    def endpoints(self) -> topology.Endpoints:
        base = super().endpoints()
        # Services read devices through the edge's internal listener, which a cutover re-points
        # from the monolith to the devices service without restarting them.
        return dataclasses.replace(base, service_urls=dict(base.service_urls, devices=self.internal_url))


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket: Envoy's admin interface listens on nothing else."""

    def __init__(self, path: Path, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.path = str(path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class EdgeTopology:
    """The processes of one 1x step and the edge's current routing."""

    def __init__(self, step: Step, host: str, port: int, data_dir: Path, env: dict | None = None):
        self.step = step
        self.host = host
        self.data_dir = Path(data_dir).resolve()
        self.env = dict(os.environ if env is None else env)
        self.logs = self.data_dir / "logs"
        self.monolith_dir = self.data_dir / "monolith"
        self.monolith_port = free_port(host)
        self.port = port or free_port(host)
        self.internal_port = free_port(host)
        self.services = _Services(self.data_dir, host, f"http://{host}:{self.internal_port}", env=self.env)
        # Stage 2's own gateway never starts here, so the edge takes its admin socket path (0600).
        self.admin_socket = self.services.gateway_admin_socket
        self.monolith = ManagedProcess(
            "monolith", [sys.executable, "-m", "stage1_monolith", "serve", "--host", host,
                         "--port", str(self.monolith_port), "--data-dir", str(self.monolith_dir)],
            self.logs / "monolith.log", lambda: http_ok(self.monolith_url + "/health"),
            env=self._monolith_env(), cwd=REPO_ROOT)
        self.gateway_dir = self.data_dir / "gateway"
        self.routes_file = self.gateway_dir / "routes" / "public" / "routes.json"
        # Its own directory: a rename reloads only the routes that changed.
        self.internal_routes_file = self.gateway_dir / "routes" / "internal" / "routes.json"
        self.edge = ManagedProcess(
            "edge", [_envoy_binary(), "-c", str(self.gateway_dir / "envoy.json"), "--disable-hot-restart",
                     "--log-level", "warn", "--file-flush-interval-msec", "500"],
            self.logs / "edge.log", lambda: http_ok(self.base_url + "/health"))
        self.owners: dict[str, str] = dict(step.owners)
        self.frozen: frozenset[str] = frozenset()
        self.routes_version = 0
        self._written: dict[str, list] = {}
        self._expected: dict[str, str] = {}
        self.jwks: dict | None = None

    # --- addresses --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def monolith_url(self) -> str:
        return f"http://{self.host}:{self.monolith_port}"

    @property
    def sqlite_path(self) -> Path:
        return self.monolith_dir / "homesense.sqlite3"

    def database_url(self, service: str) -> str:
        """The PostgreSQL URL of a service's database."""
        return topology.database_url(self.services.endpoints(), topology.service(service).database)

    def _monolith_env(self) -> dict:
        env = dict(self.env)
        # Behind the edge the edge throttles each client; the monolith sees every request from the
        # edge's one address, so its own bucket is set wide open rather than throttle everyone at once.
        env["HOMESENSE_RATE_LIMIT_RPS"] = str(render.DEFAULT_RATE_LIMIT_RPS * 10)
        env["HOMESENSE_RATE_LIMIT_BURST"] = str(render.DEFAULT_RATE_LIMIT_BURST * 10)
        # The devices facade: the monolith publishes its device events to NATS from the first step,
        # so services extracted later find the whole device history in the stream (alerts builds its
        # device projection from it), and answers the services' GET /internal/devices/{id}.
        env["HOMESENSE_DEVICE_EVENTS_NATS_URL"] = self.services.nats_url
        env["HOMESENSE_INTERNAL_API"] = "1"
        # The same secrets as stage 2's (var/.../secrets.json): the services present the service
        # token to the device facade, and the relay logs in to NATS (the URL carries the password).
        env["HOMESENSE_SERVICE_TOKEN"] = self.services.secrets["service_token"]
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        return env

    def ensure_streams(self) -> None:
        """Create stage 2's JetStream streams, so the monolith's relay can publish before any service runs."""
        import asyncio

        from stage2_microservices.common.messaging import Bus, Topology

        async def ensure():
            bus = Bus(self.services.nats_url, Topology(self.env.get("HOMESENSE_EVENTS_NAMESPACE", "homesense")),
                      "migration-edge")
            await bus.connect()
            await bus.close()

        asyncio.run(ensure())

    def ensure_monolith(self) -> None:
        """Start the monolith if this run began without it (1d started fresh, rolled back)."""
        if not self.monolith.alive:
            self.monolith.start()
            self.monolith.wait_ready()

    def wait_pipeline_idle(self, timeout: float = 30.0) -> float:
        """Wait until telemetry's outbox is sent and alerts has handled every reading event; seconds."""
        import asyncio

        import psycopg

        from stage2_microservices.common.messaging import Topology
        from stage2_microservices.services.alerts.service import READINGS_CONSUMER

        names = Topology(self.env.get("HOMESENSE_EVENTS_NAMESPACE", "homesense"))

        async def consumer_busy() -> int:
            import nats

            nc = await nats.connect(self.services.nats_url)
            try:
                info = await nc.jetstream().consumer_info(names.stream("reading"), READINGS_CONSUMER)
                return info.num_pending + info.num_ack_pending
            finally:
                await nc.close()

        began = time.monotonic()
        while time.monotonic() - began < timeout:
            with psycopg.connect(self.database_url("telemetry")) as conn:
                unsent = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
            if unsent == 0 and asyncio.run(consumer_busy()) == 0:
                return round(time.monotonic() - began, 3)
            time.sleep(0.05)
        raise StartError(f"the readings pipeline did not go idle within {timeout:.0f} s")

    def monolith_call(self, path: str) -> dict:
        """POST one of the monolith's /internal/migration routes; its JSON answer."""
        from homesense_core.tokens import SERVICE_TOKEN_HEADER

        request = urllib.request.Request(self.monolith_url + path, data=b"", method="POST",
                                         headers={SERVICE_TOKEN_HEADER: self.services.secrets["service_token"]})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    # --- the signing key: one for every component that issues or verifies tokens ---------------
    def prepare_key(self) -> None:
        """Create the monolith's key (first start) and give identity the same one."""
        from stage1_monolith.keys import load_or_create_signing_key
        from stage2_microservices.services.identity.keys import KEY_FILE

        self.monolith_dir.mkdir(parents=True, exist_ok=True)
        key = load_or_create_signing_key(self.monolith_dir / "signing-key.pem")
        identity_dir = Path(self.services.endpoints().data_dir)
        identity_dir.mkdir(parents=True, exist_ok=True)
        target = identity_dir / KEY_FILE
        tmp = target.with_suffix(".edge-tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.private_pem())
        os.replace(tmp, target)
        self.jwks = key.jwks()

    # --- processes ----------------------------------------------------------------------------
    @staticmethod
    def services_for(owners: dict[str, str]) -> list[str]:
        """Stage 2 services a routing needs running, in start order (notifier needs identity)."""
        wanted = {o for o in owners.values() if o in topology.SERVICE_NAMES}
        return [s for s in topology.SERVICE_NAMES if s in wanted]

    def infra_for(self, services: list[str]) -> list[str]:
        needed = []
        if any(topology.service(s).database for s in services):
            needed.append("postgres")
        # Always: the monolith's device relay publishes to it from the first step.
        needed.append("nats")
        return needed

    def start_services(self, names: list[str]) -> None:
        """Start infrastructure and services that are not running yet, and wait for them."""
        missing = [n for n in (*self.infra_for(names), *names) if not self.services.processes[n].alive]
        # A service started at a later step may have been defined before (it is started once).
        missing = list(dict.fromkeys(missing))
        if not missing:
            return
        if "postgres" in missing:
            self.services.start_process("postgres")
            self.services.postgres.create_databases(topology.DATABASES)
            missing.remove("postgres")
        if "nats" in missing:
            self.services.start_process("nats")
            missing.remove("nats")
        if missing:
            self.services.start_processes(missing)

    def gateway_config(self) -> render.GatewayConfig:
        upstreams = {n: (self.host, self.services.ports[n]) for n in topology.SERVICE_NAMES}
        upstreams[MONOLITH] = (self.host, self.monolith_port)
        return render.GatewayConfig(
            listen_host=self.host, listen_port=self.port, admin_path=str(self.admin_socket),
            upstreams=upstreams, access_log_path=str(self.logs / "edge-access.log"),
            rate_limit_rps=float(self.env.get("HOMESENSE_RATE_LIMIT_RPS") or render.DEFAULT_RATE_LIMIT_RPS),
            rate_limit_burst=int(self.env.get("HOMESENSE_RATE_LIMIT_BURST") or render.DEFAULT_RATE_LIMIT_BURST),
            cors_origins=self.env.get("HOMESENSE_CORS_ORIGINS", "*"))

    def start(self) -> None:
        began = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.prepare_key()
        self.start_services([])  # NATS
        self.ensure_streams()
        # Plain stage 2 (1d started fresh) needs no monolith; a cutover to it keeps the one it had.
        needs_monolith = MONOLITH in self.owners.values()
        if needs_monolith:
            _stderr(f"starting monolith on {self.host}:{self.monolith_port}")
            self.monolith.start()
        self.start_services(self.services_for(self.owners))
        if needs_monolith:
            waited = self.monolith.wait_ready()
            _stderr(f"monolith ready ({waited:.1f} s, pid {self.monolith.pid})")
        self.routes_file.parent.mkdir(parents=True, exist_ok=True)
        self.internal_routes_file.parent.mkdir(parents=True, exist_ok=True)
        self._write_routes()
        internal = render.internal_listener(self.host, self.internal_port, self.internal_routes_file)
        (self.gateway_dir / "envoy.json").write_text(json.dumps(
            render.dynamic_bootstrap(self.gateway_config(), self.routes_file, self.jwks, internal), indent=1))
        # A socket left by a killed Envoy would make the new one fail to bind.
        self.admin_socket.parent.mkdir(parents=True, exist_ok=True)
        self.admin_socket.unlink(missing_ok=True)
        _stderr(f"starting edge (Envoy) on {self.host}:{self.port}")
        self.edge.start()
        waited = self.edge.wait_ready()
        self.wait_routes()
        _stderr(f"edge ready ({waited:.1f} s, pid {self.edge.pid}); step {self.step.name} up in "
                f"{time.monotonic() - began:.1f} s; logs in {self.logs}")

    def stop(self) -> None:
        """Edge first (no new requests), then services and infrastructure, then the monolith."""
        for process in (self.edge, *reversed(list(self.services.processes.values())), self.monolith):
            if process.alive:
                _stderr(f"stopping {process.name} (pid {process.pid})")
                process.stop()

    # --- routes -----------------------------------------------------------------------------
    def _write_routes(self) -> None:
        self.routes_version += 1
        version = str(self.routes_version)
        owners = {g: cluster_of(o) for g, o in self.owners.items()}
        internal = render.internal_routes_document({"/internal/devices/": self.owners["devices"]}, version)
        self._replace("internal", self.internal_routes_file, internal)
        self._replace("homesense", self.routes_file,
                      render.routes_document(self.gateway_config(), owners, self.frozen, version))

    def _replace(self, name: str, path: Path, doc: dict) -> None:
        # Envoy ignores a file whose routes did not change (and keeps the old version_info), so
        # only a changed file is written and only its version is waited for.
        if self._written.get(name) == doc["resources"]:
            return
        self._written[name] = doc["resources"]
        self._expected[name] = doc["version_info"]
        tmp = path.with_name(f".{path.stem}.{self.routes_version}.tmp")
        tmp.write_text(json.dumps(doc))
        # A rename into the watched directory is atomic: Envoy reads the old file or the new one.
        os.replace(tmp, path)

    def applied_routes_versions(self) -> dict[str, str] | None:
        conn = _UnixHTTPConnection(self.admin_socket, timeout=2)
        try:
            conn.request("GET", "/config_dump?resource=dynamic_route_configs")
            response = conn.getresponse()
            if response.status != 200:
                return None
            dump = json.load(response)
        except (OSError, ValueError, http.client.HTTPException):
            return None
        finally:
            conn.close()
        return {c.get("route_config", {}).get("name"): c.get("version_info") for c in dump.get("configs", [])}

    def wait_routes(self, timeout: float = 10.0) -> None:
        """Block until Envoy serves the routes file last written."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            applied = self.applied_routes_versions() or {}
            if all(applied.get(name) == v for name, v in self._expected.items()):
                return
            time.sleep(0.01)
        raise StartError(f"Envoy did not load routes {self._expected} within {timeout:.0f} s (has {applied})")

    def set_routes(self, owners: dict[str, str] | None = None, frozen: frozenset[str] | None = None) -> None:
        """Switch owners and/or frozen groups at run time; returns once Envoy applies them."""
        if owners is not None:
            self.owners = dict(owners)
        if frozen is not None:
            self.frozen = frozenset(frozen)
        self._write_routes()
        self.wait_routes()


# --- the launcher protocol ------------------------------------------------------------------
class _StopRequested(Exception):
    """Raised by the signal handler so a start or a command in progress unwinds."""


def _on_signal(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise _StopRequested(signal.Signals(signum).name)


def run_step(step: Step, host: str, port: int, data_dir: str, control: bool) -> int:
    """Run one 1x step in the foreground until SIGTERM/SIGINT (launcher protocol)."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    topo = EdgeTopology(step, host, port, Path(data_dir))
    code = 0
    try:
        topo.start()
        print(READY_PREFIX + json.dumps({"base_url": topo.base_url, "ws_url": topo.ws_url}), flush=True)
        if control:
            from migration.edge_cutover import Controller

            Controller(topo).serve(sys.stdin, sys.stdout)
        threading.Event().wait()
    except _StopRequested as stop:
        _stderr(f"{stop} received, stopping")
    except StartError as exc:
        _stderr(f"start failed: {exc}")
        code = 1
    finally:
        topo.stop()
    return code

