"""A Docker engine and Compose v2 for `make compose-test`: the ones there are, else Debian's.

Order of preference, so a developer's own setup always wins:
  engine   `docker info` answers -> use it; else, as root on Debian/Ubuntu, `apt-get install
           docker.io` if dockerd is missing and start dockerd ourselves (stopped again afterwards).
  compose  `docker compose` (the v2 plugin) -> `docker-compose` if it is v2 -> as root on Debian,
           Debian's own docker-compose 2.x package. Bookworm only packages Compose v1 (Python,
           1.29, which predates `configs.content` and `up --wait`), so the package comes from the
           next Debian release (trixie) through a private apt configuration that leaves the
           machine's apt sources untouched; it depends on nothing but libc6 (>= 2.34).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEBIAN_ARCHIVE_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
COMPOSE_SUITE = "trixie"


class NoEngine(RuntimeError):
    """No Docker engine (or no Compose v2) can be had on this machine; the message says why."""


def _run(argv: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def _ok(argv: list[str], timeout: float = 30) -> bool:
    try:
        return _run(argv, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def engine_answers() -> bool:
    """True when the docker CLI reaches a running daemon."""
    return shutil.which("docker") is not None and _ok(["docker", "info", "--format", "{{.ServerVersion}}"])


def _is_root() -> bool:
    return os.geteuid() == 0


def _debian_like() -> bool:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return any(f"{key}=debian" in text or f"{key}=ubuntu" in text or f'{key}="debian' in text
               for key in ("ID", "ID_LIKE"))


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (deb.debian.org when none is found)."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            for word in line.replace("URIs:", " ").split():
                if word.startswith("http") and word.rstrip("/").endswith("/debian"):
                    return word.rstrip("/")
    return "http://deb.debian.org/debian"


def apt_install(*packages: str) -> None:
    """apt-get install as root (one `apt-get update` first: a fresh machine has no lists)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = _run(argv, timeout=900, env=env)
        if done.returncode != 0:
            raise NoEngine(f"`{' '.join(argv)}` failed: {done.stderr.strip()[-400:]}")


@dataclass
class Engine:
    """The engine in use; `process` is set only when this run started dockerd."""

    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self) -> None:
        """Stop dockerd if this run started it (by its pid), waiting for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def ensure_engine(log_dir: Path, progress=print) -> Engine:
    """A running engine: the existing one, or dockerd started (and if need be installed) here."""
    if engine_answers():
        return Engine()
    if not _is_root():
        raise NoEngine("no Docker engine answers `docker info`, and installing or starting "
                       "one needs root")
    if shutil.which("dockerd") is None:
        if not (_debian_like() and shutil.which("apt-get")):
            raise NoEngine("no Docker engine answers and this is not a Debian/Ubuntu machine "
                           "where apt-get could install docker.io")
        progress("installing docker.io with apt-get (first run on this machine only)")
        apt_install("docker.io")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "dockerd.log"
    progress(f"starting dockerd (log: {log_path})")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    engine = Engine(process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if engine_answers():
            return engine
        if process.poll() is not None:
            raise NoEngine(f"dockerd exited with {process.returncode}; see {log_path}")
        time.sleep(0.5)
    engine.stop()
    raise NoEngine(f"dockerd did not answer within 60 s; see {log_path}")


def _compose_v2(argv: list[str]) -> bool:
    try:
        done = _run([*argv, "version", "--short"], timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip().lstrip("v").startswith("2")


def compose_command(progress=print) -> list[str]:
    """argv prefix of a Compose v2 client (installing Debian's package as root if none exists)."""
    for argv in (["docker", "compose"], ["docker-compose"]):
        if _compose_v2(argv):
            return argv
    if not (_is_root() and _debian_like() and shutil.which("apt-get") and DEBIAN_ARCHIVE_KEYRING.exists()):
        raise NoEngine("Docker Compose v2 is missing (`docker compose version` fails); install the "
                       "docker-compose-plugin (or docker-compose >= 2) package")
    progress(f"installing Docker Compose v2 from Debian {COMPOSE_SUITE}'s docker-compose package")
    install_debian_compose()
    for argv in (["docker", "compose"], ["docker-compose"]):
        if _compose_v2(argv):
            return argv
    raise NoEngine("Debian's docker-compose package installed, yet `docker compose version` fails")


def install_debian_compose() -> None:
    """apt-get download docker-compose from the next Debian release, then dpkg -i it."""
    with tempfile.TemporaryDirectory(prefix="homesense-apt-") as tmp:
        root = Path(tmp)
        (root / "lists" / "partial").mkdir(parents=True)
        (root / "archives" / "partial").mkdir(parents=True)
        sources = root / "sources.list"
        sources.write_text(f"deb [signed-by={DEBIAN_ARCHIVE_KEYRING}] {debian_mirror()} "
                           f"{COMPOSE_SUITE} main\n")
        options = ["-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
                   "-o", f"Dir::State::Lists={root / 'lists'}", "-o", f"Dir::Cache={root}",
                   "-o", f"Dir::Cache::Archives={root / 'archives'}"]
        for argv in (["apt-get", *options, "update", "-qq"],
                     ["apt-get", *options, "download", "docker-compose"]):
            done = _run(argv, timeout=600, cwd=root)
            if done.returncode != 0:
                raise NoEngine(f"`{' '.join(argv[:1] + argv[-2:])}` failed: {done.stderr.strip()[-400:]}")
        debs = sorted(root.glob("docker-compose_*.deb"))
        if not debs:
            raise NoEngine("apt-get download docker-compose produced no package")
        done = _run(["dpkg", "-i", str(debs[0])], timeout=300)
        if done.returncode != 0:
            raise NoEngine(f"dpkg -i {debs[0].name} failed: {done.stderr.strip()[-400:]}")
