"""Start the real `python -m stage1_monolith serve` in its own process group, for process tests."""
from __future__ import annotations

from homesense_core import ports
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    return ports.free_port()


class ServerProcess:
    """One server on a data dir; stop() and kill() act on its process group only."""

    def __init__(self, data_dir: Path, env: dict | None = None):
        self.data_dir, self.port = data_dir, free_port()
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.ready: dict | None = None

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        cmd = [sys.executable, "-m", "stage1_monolith", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--data-dir", str(self.data_dir)]
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not lines or not lines[0].startswith("HOMESENSE_READY "):
            self.kill()
            raise RuntimeError(f"server did not become ready: {lines!r}")
        self.ready = json.loads(lines[0].split(" ", 1)[1])
        return self

    @property
    def base_url(self) -> str:
        return self.ready["base_url"]

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup runs, like a power cut for the process."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            self.kill()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll until predicate() returns something truthy; that value, or the last one."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def new_account(base_url: str, username: str) -> dict:
    """Register a user and return Authorization headers."""
    body = {"username": username, "password": "long-enough-pw"}
    assert requests.post(f"{base_url}/users", json=body, timeout=30).status_code == 201
    token = requests.post(f"{base_url}/auth/token", json=body, timeout=30).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
