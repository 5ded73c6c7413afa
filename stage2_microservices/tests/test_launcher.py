"""`python -m stage2_microservices.local up` keeps the launcher protocol of docs/dev/INTERFACES.md."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from stage2_microservices.local.processes import free_port
from stage2_microservices.tests.conftest import real_services_missing

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = "HOMESENSE_READY "


class Launch:
    """One foreground run of the launcher, reading its stdout in the background."""

    def __init__(self, data_dir: Path, port: int):
        self.stderr_path = data_dir.parent / f"launch-{time.monotonic_ns()}.err"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stage2_microservices.local", "up", "--host", "127.0.0.1",
                 "--port", str(port), "--data-dir", str(data_dir)],
                cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            self.lines.append(raw.decode().rstrip("\n"))
            if self.lines[-1].startswith(READY):
                self.ready.set()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"ready \([0-9.]+ s, pid (\d+)\)", self.stderr)]

    def wait_ready(self, timeout: float = 240) -> dict:
        if not self.ready.wait(timeout):
            self.kill()
            pytest.fail(f"no ready line within {timeout} s:\n{self.stderr[-4000:]}")
        ready = [line for line in self.lines if line.startswith(READY)]
        assert len(ready) == 1
        return json.loads(ready[0][len(READY):])

    def terminate(self, timeout: float = 20) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, just not reaped yet
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    if real_services_missing():
        pytest.skip(f"stage-2 services not written yet: {real_services_missing()}")
    return tmp_path_factory.mktemp("launcher") / "data"


def test_first_start_prints_ready_serves_and_stops_every_child_on_sigterm(data_dir):
    port = free_port()
    launch = Launch(data_dir, port)
    try:
        info = launch.wait_ready()
        assert info == {"base_url": f"http://127.0.0.1:{port}", "ws_url": f"ws://127.0.0.1:{port}/ws"}
        assert requests.get(info["base_url"] + "/health", timeout=5).json()["stage"] == "microservices"
        user = {"username": "launcher-user", "password": "launcher-pass-1"}
        assert requests.post(info["base_url"] + "/users", json=user, timeout=10).status_code == 201
        pids = launch.child_pids()
        assert len(pids) == 8  # postgres, nats, five services, envoy
        assert launch.terminate() == 0
    finally:
        launch.kill()
    assert [p for p in pids if _alive(p)] == []
    assert "initialising PostgreSQL" in launch.stderr


def test_second_start_reuses_the_data_dir_without_initdb(data_dir):
    port = free_port()
    began = time.monotonic()
    launch = Launch(data_dir, port)
    try:
        info = launch.wait_ready()
        elapsed = time.monotonic() - began
        # The user of the first run is still there, and its password still works.
        token = requests.post(info["base_url"] + "/auth/token", timeout=10,
                              json={"username": "launcher-user", "password": "launcher-pass-1"})
        assert token.status_code == 200, token.text
        me = requests.get(info["base_url"] + "/me", timeout=10,
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert me.json()["username"] == "launcher-user"
        assert launch.terminate() == 0
    finally:
        launch.kill()
    assert "initialising PostgreSQL" not in launch.stderr
    print(f"second start took {elapsed:.1f} s")



@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands PostgreSQL to another account")
def test_as_root_programs_under_a_private_directory_stop_with_one_clear_sentence(tmp_path, monkeypatch):
    import shutil
    import tempfile

    from stage2_microservices.local import postgres
    from stage2_microservices.local.processes import StartError
    # pytest's own tmp dirs are private too: this one is open, except for the "home" inside.
    open_root = Path(tempfile.mkdtemp(prefix="homesense-private-test-"))
    open_root.chmod(0o755)
    monkeypatch.chdir(open_root)
    private = open_root / "home"
    (private / "checkout" / "bin").mkdir(parents=True)
    private.chmod(0o700)
    monkeypatch.setattr(postgres, "_bin_dir", lambda: private / "checkout" / "bin")
    server = postgres.LocalPostgres(tmp_path / "data", "127.0.0.1", free_port(), tmp_path / "pg.log")
    with pytest.raises(StartError) as refused:
        server.start()
    message = str(refused.value)
    assert f"cannot enter {private} (mode 0o700)" in message and "\n" not in message
    assert server.process.pid is None  # nothing was started
    shutil.rmtree(open_root)
