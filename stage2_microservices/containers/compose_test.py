"""`make compose-test`: stage 2 in real containers, from docker-compose.yml, tested end to end.

  1. a Docker engine and Compose v2 (engine.py: the ones there are, else Debian's packages);
  2. images: the official ones if they can be pulled, else local stand-ins (images.py); the
     five service images are built by `docker compose build` from the host's wheelhouse;
  3. checks on the built images (live/test_images.py: non-root, HEALTHCHECK, no secrets);
  4. `docker compose up --wait`, then the full contract suite through the gateway, with a second
     gateway (compose.lowrate.yml) started with a low rate limit for the 429 test;
  5. `--scale telemetry=3` and live/test_scale.py (Envoy spreads requests over all replicas,
     every accepted reading is stored once);
  6. `docker compose down -v` (containers, networks, volumes of this run's project) and dockerd
     stopped if this run started it. Images are kept: they are the cache of the next run.

No engine: one line saying why; exit 1 when CI=true (a CI machine must test this), else 0.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from stage2_microservices.containers import engine, images
from stage2_microservices.gateway import render
from stage2_microservices.local.processes import free_port

REPO_ROOT = images.REPO_ROOT
HERE = Path(__file__).resolve().parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
LOWRATE_FILE = HERE / "compose.lowrate.yml"
WORK_DIR = REPO_ROOT / "var" / "compose-test"
# One project per checkout, so two clones on one machine never tear down each other's stack.
PROJECT = "homesense-test-" + hashlib.sha1(str(REPO_ROOT).encode()).hexdigest()[:6]
# The contract suite's second instance: RATE_LIMIT_RPS=2, BURST=5 (contract_tests/conftest.py).
LOWRATE_RPS, LOWRATE_BURST = 2.0, 5
SCALE = 3


def say(message: str) -> None:
    print(f"[compose-test] {message}", flush=True)


class Stack:
    """One compose project (this run's), driven through the Compose v2 CLI."""

    def __init__(self, compose: list[str], env: dict[str, str]):
        self.argv = [*compose, "-p", PROJECT, "-f", str(COMPOSE_FILE), "-f", str(LOWRATE_FILE)]
        self.env = env

    def run(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.argv, *args], cwd=REPO_ROOT, env=self.env, text=True,
                              capture_output=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"docker compose {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
        return done

    def service_images(self) -> list[str]:
        """The five service images this compose file builds."""
        config = json.loads(self.run("config", "--format", "json").stdout)
        return [spec["image"] for spec in config["services"].values() if "build" in spec]


def wait_http(url: str, timeout: float) -> None:
    """Poll url until it answers 200 (the gateway's /health)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.5)


def pytest(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                           cwd=REPO_ROOT, env=env)


def run(args: argparse.Namespace) -> int:
    began = time.monotonic()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    try:
        eng = engine.ensure_engine(WORK_DIR, say)
        compose = engine.compose_command(say)
    except engine.NoEngine as exc:
        ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
        print(f"compose-test: {'FAILED' if ci else 'SKIPPED'}: no Docker engine: {exc}", flush=True)
        return 1 if ci else 0
    stack = None
    try:
        images.ensure_wheelhouse(say)
        if args.local_images or not images.official_images_available(say):
            image_env = images.build_local_images(say)
        else:
            image_env = dict(images.OFFICIAL)
        port, lowrate_port = free_port("127.0.0.1"), free_port("127.0.0.1")
        lowrate_config = WORK_DIR / "envoy.lowrate.yaml"
        base = render.compose_config()
        lowrate_config.write_text(render.render(dataclasses.replace(
            base, rate_limit_rps=LOWRATE_RPS, rate_limit_burst=LOWRATE_BURST,
            # Its own identity (compose.lowrate.yml) with the suite's low login-throttle limits.
            upstreams={**base.upstreams, "identity": ("identity-lowrate", base.upstreams["identity"][1])})))
        env = {**os.environ, **image_env, "HOMESENSE_PORT": str(port),
               "HOMESENSE_LOWRATE_PORT": str(lowrate_port),
               "HOMESENSE_LOWRATE_CONFIG": str(lowrate_config),
               # docker-compose.yml refuses to start without the deployment's two secrets:
               # this run makes its own (in this process's environment only, never on disk).
               "HOMESENSE_NATS_PASSWORD": os.environ.get("HOMESENSE_NATS_PASSWORD") or secrets.token_hex(24),
               "HOMESENSE_SERVICE_TOKEN": os.environ.get("HOMESENSE_SERVICE_TOKEN") or secrets.token_hex(32)}
        stack = Stack(compose, env)
        stack.run("down", "-v", "--remove-orphans", check=False)  # leftovers of an interrupted run

        t = time.monotonic()
        say("docker compose build (five service images, wheels from var/wheelhouse)")
        stack.run("build", timeout=1800)
        built = time.monotonic() - t
        service_images = stack.service_images()
        live_env = {**env, "HOMESENSE_LIVE_IMAGES": json.dumps(service_images),
                    "HOMESENSE_LIVE_COMPOSE": json.dumps(stack.argv),
                    "HOMESENSE_LIVE_BASE_URL": f"http://127.0.0.1:{port}"}
        failures = []
        if pytest(str(HERE / "live" / "test_images.py"), env=live_env) != 0:
            failures.append("image checks")

        t = time.monotonic()
        say(f"docker compose up --wait (gateway on 127.0.0.1:{port}, low-rate gateway on :{lowrate_port})")
        stack.run("up", "-d", "--no-build", "--wait", timeout=600)
        wait_http(f"http://127.0.0.1:{port}/health", 60)
        wait_http(f"http://127.0.0.1:{lowrate_port}/health", 60)
        up = time.monotonic() - t
        say(f"stack healthy in {up:.1f} s; running the contract suite through the gateway")

        t = time.monotonic()
        if pytest("contract_tests", "--base-url", f"http://127.0.0.1:{port}",
                  "--ws-url", f"ws://127.0.0.1:{port}/ws",
                  "--rate-limited-base-url", f"http://127.0.0.1:{lowrate_port}", *args.pytest_args) != 0:
            failures.append("contract suite")
        contract = time.monotonic() - t

        t = time.monotonic()
        say(f"docker compose up --scale telemetry={SCALE}")
        stack.run("up", "-d", "--no-build", "--wait", "--no-recreate", "--scale", f"telemetry={SCALE}",
                  timeout=600)
        if pytest(str(HERE / "live" / "test_scale.py"), "-s", env=live_env) != 0:
            failures.append("scale test")
        scaled = time.monotonic() - t

        for ref in [*service_images, *image_env.values()]:
            say(f"image {ref}: {images.image_size_mb(ref):.0f} MB")
        say(f"build {built:.0f} s, up {up:.0f} s, contract suite {contract:.0f} s, scale test {scaled:.0f} s")
        if failures:
            raise RuntimeError(f"failed: {', '.join(failures)}")
        return 0
    except Exception as exc:  # noqa: BLE001 - reported, then everything is torn down
        if stack is not None:
            logs = stack.run("logs", "--no-color", "--timestamps", check=False, timeout=120)
            (WORK_DIR / "compose.log").write_text(logs.stdout + logs.stderr)
            say(f"container logs kept in {(WORK_DIR / 'compose.log').relative_to(REPO_ROOT)}")
        say(f"FAILED: {exc}")
        return 1
    finally:
        if stack is not None:
            say("docker compose down -v (containers, networks, volumes of this run)")
            stack.run("down", "-v", "--remove-orphans", check=False, timeout=300)
        if eng.started_here:
            say("stopping the dockerd this run started")
            eng.stop()
        say(f"done in {time.monotonic() - began:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stage2_microservices.containers.compose_test",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--local-images", action="store_true",
                        help="use the local stand-ins even where the official images can be pulled")
    parser.add_argument("--remove-images", action="store_true",
                        help="delete the homesense-local/* and homesense-* images, then exit")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for the contract suite")
    args = parser.parse_args(argv)
    if args.remove_images:
        images.remove_local_images()
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
