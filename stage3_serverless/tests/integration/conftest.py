"""Fixtures: the packaged template, and one real local deploy (launcher + ministack) per session."""

from __future__ import annotations

from homesense_core import ports
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from stage3_serverless.infra.ministack_process import Ministack
from stage3_serverless.infra.packaging import PROJECT_DIR, REPO_ROOT, Package, build_package

READY_PREFIX = "HOMESENSE_READY "
START_TIMEOUT_S = 180


@pytest.fixture(scope="session")
def package() -> Package:
    """The app as `chalice package --merge-template` produced it (built once per source hash)."""
    if not (PROJECT_DIR / "app.py").exists():
        pytest.skip("stage3_serverless/app.py does not exist yet")
    return build_package("local")


@pytest.fixture(scope="session")
def template(package) -> dict:
    """The packaged SAM template, exactly as it goes to AWS."""
    return package.template()


def _free_port() -> int:
    return ports.free_port()


@dataclass
class LocalStage:
    """A running `python -m stage3_serverless.local up` and what it announced."""

    process: subprocess.Popen
    base_url: str
    ws_url: str
    endpoint_url: str
    data_dir: Path

    def client(self, service: str):
        """A boto3 client for the ministack behind this stage."""
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    def outputs(self) -> dict[str, str]:
        """The stack outputs (table name, state machine ARN, ...)."""
        stack = self.client("cloudformation").describe_stacks(StackName="homesense-local")["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


@pytest.fixture(scope="session")
def local_stage(package) -> LocalStage:
    """The launcher, started exactly as the contract suite starts it; stopped by the last test or here."""
    root = Path(tempfile.mkdtemp(prefix="homesense-s3-it-"))
    port = _free_port()
    stderr = open(root / "stage.stderr.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stage3_serverless.local", "up", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(root / "data")],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=stderr, start_new_session=True)
    stderr.close()
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        # Drains stdout for the stage's whole life so it never blocks on a full pipe.
        for raw in proc.stdout:
            lines.put(raw.decode(errors="replace"))

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    info = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith(READY_PREFIX):
            info = json.loads(line[len(READY_PREFIX):])
            break
    if info is None:
        _stop(proc)
        log = (root / "stage.stderr.log").read_text(errors="replace")[-4000:]
        pytest.fail(f"stage 3 did not become ready:\n{log}")
    stage = LocalStage(proc, info["base_url"], info["ws_url"], f"http://127.0.0.1:{port}", root / "data")
    yield stage
    _stop(proc)
    shutil.rmtree(root, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def bare_ministack(tmp_path_factory) -> Ministack:
    """An empty ministack of our own (no stack deployed), for probing the emulator itself."""
    stack = Ministack("127.0.0.1", _free_port(), tmp_path_factory.mktemp("ministack"))
    stack.start()
    yield stack
    stack.stop()
