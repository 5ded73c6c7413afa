"""Child processes of the local runner: start, wait until ready, stop by pid."""
from __future__ import annotations

from homesense_core import ports
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence


class StartError(RuntimeError):
    """A process exited or did not become ready in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A free port, reserved against concurrent runs until the child binds it (homesense_core.ports)."""
    return ports.free_port(host)


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when GET url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def tail(path: Path, max_chars: int = 3000) -> str:
    """The end of a log file, for error messages."""
    try:
        return path.read_text(errors="replace")[-max_chars:]
    except OSError:
        return ""


class ManagedProcess:
    """One long-running child: its command line, log file and readiness probe."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, ready: Callable[[], bool], *,
                 env: dict[str, str] | None = None, cwd: Path | None = None, user: str | None = None,
                 stop_signal: int = signal.SIGTERM, start_timeout: float = 60.0):
        self.name, self.argv, self.log_path, self.ready = name, list(argv), log_path, ready
        self.env, self.cwd, self.user = env, cwd, user
        self.stop_signal, self.start_timeout = stop_signal, start_timeout
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it was started by us (it may have exited since)."""
        return self.process.pid if self.process else None

    @property
    def alive(self) -> bool:
        """True while the child runs."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Spawn the child with stdout and stderr appended to its log file."""
        if self.alive:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, user=self.user,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float | None = None) -> float:
        """Block until the probe passes; returns seconds waited, raises StartError otherwise."""
        started = time.monotonic()
        deadline = started + (timeout or self.start_timeout)
        while time.monotonic() < deadline:
            if not self.alive:
                code = self.process.returncode if self.process else None
                raise StartError(f"{self.name} exited with code {code}; log {self.log_path}:\n"
                                 f"{tail(self.log_path)}")
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.1)
        raise StartError(f"{self.name} not ready after {timeout or self.start_timeout:.0f} s; "
                         f"log {self.log_path}:\n{tail(self.log_path)}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop by pid, SIGKILL after timeout."""
        if not self.alive:
            return
        assert self.process is not None
        self._signal(self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL by pid, as a crash would end it."""
        if not self.alive:
            return
        assert self.process is not None
        self._signal(signal.SIGKILL)
        self.process.wait(10)

    def _signal(self, sig: int) -> None:
        assert self.process is not None
        try:
            os.kill(self.process.pid, sig)
        except ProcessLookupError:
            pass
