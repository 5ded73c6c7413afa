"""Starts a stage with the launcher protocol of docs/dev/INTERFACES.md and stops it by process group."""
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "HOMESENSE_READY "
STAGE_COMMANDS = {
    "1": ["-m", "stage1_monolith", "serve"],
    "2": ["-m", "stage2_microservices.local", "up"],
    "3": ["-m", "stage3_serverless.local", "up"],
}
STAGE_NAMES = {"1": "monolith", "2": "microservices", "3": "serverless"}


def command_for(target: str) -> list[str]:
    """Launcher arguments of a stage ("1".."3") or a migration step ("step:1b")."""
    if target.startswith("step:"):
        return ["-m", "migration", "step", target[len("step:"):]]
    return STAGE_COMMANDS[target]
START_TIMEOUT_S = 240
# CORS allow-list of the second (low rate limit) instance the suite starts.
RESTRICTED_ORIGINS = ("https://allowed.example.test", "https://also-allowed.example.test")
STOP_GRACE_S = 20


def free_port() -> int:
    """A free port, reserved against concurrent runs (homesense_core.ports)."""
    return ports.free_port()


class StageStartError(RuntimeError):
    """The stage did not print its ready line in time."""


@dataclass
class RunningStage:
    stage: str
    base_url: str
    ws_url: str
    process: subprocess.Popen
    data_dir: Path
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    def stderr_tail(self, max_chars: int = 6000) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-max_chars:]

    def stop(self) -> int | None:
        """SIGTERM to the process group, SIGKILL after the grace period."""
        proc = self.process
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(10)
        # Children that ignored the TERM of their leader still belong to the group.
        _signal_group(proc, signal.SIGKILL)
        return proc.returncode

    def cleanup(self) -> None:
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session=True: pgid == pid
    except (ProcessLookupError, PermissionError):
        pass


def start_stage(stage: str, extra_env: dict[str, str] | None = None, label: str = "") -> RunningStage:
    """Start `stage` (or a migration step, "step:1b") on a free port with a fresh data dir; return once it printed HOMESENSE_READY."""
    root = Path(tempfile.mkdtemp(prefix=f"homesense-ct-stage{stage.replace(':', '-')}{label}-"))
    data_dir = root / "data"
    data_dir.mkdir()
    stderr_path = root / "stage.stderr.log"
    port = free_port()
    cmd = [sys.executable, *command_for(stage), "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data_dir)]
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    stderr_file = open(stderr_path, "wb")
    try:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=stderr_file, start_new_session=True)
    finally:
        stderr_file.close()
    lines: "queue.Queue[str | None]" = queue.Queue()
    seen: list[str] = []

    def pump() -> None:
        # Keeps draining stdout for the stage's whole life so it never blocks on a full pipe.
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            seen.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name=f"stage{stage}-stdout", daemon=True).start()
    running = RunningStage(stage, "", "", proc, data_dir, stderr_path, seen)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _fail(running, f"no {READY_PREFIX.strip()} line within {START_TIMEOUT_S} s")
        try:
            line = lines.get(timeout=min(remaining, 1.0))
        except queue.Empty:
            continue
        if line is None:
            proc.wait(10)
            return _fail(running, f"stage exited with code {proc.returncode} before it was ready")
        if line.startswith(READY_PREFIX):
            try:
                info = json.loads(line[len(READY_PREFIX):])
                running.base_url = str(info["base_url"])
                running.ws_url = str(info["ws_url"])
            except (ValueError, KeyError, TypeError) as exc:
                return _fail(running, f"unreadable ready line {line!r}: {exc}")
            return running


def _fail(running: RunningStage, why: str):
    running.stop()
    message = (f"stage {running.stage} did not start: {why}\n"
               f"command: {' '.join(map(str, running.process.args))}\n"
               f"--- stdout ---\n" + "\n".join(running.stdout_lines[-50:]) +
               f"\n--- stderr (tail) ---\n{running.stderr_tail()}")
    sys.stderr.write(message + "\n")
    running.cleanup()
    raise StageStartError(message)


def signing_key_pem(running: RunningStage) -> str:
    """The PEM private key a stage started by this launcher signs its tokens with.

    Only for tests of what a verifier must refuse even when the signature is genuine (no exp,
    nbf in the future, a lifetime over the cap, a wrong audience): a black box cannot sign such
    tokens. Each stage keeps the key where its own README says.
    """
    if running.stage.startswith("step:"):
        # One key per migration topology: the 1x steps give the monolith's to identity
        # (migration/edge.py prepare_key), the 2x steps keep theirs in the data dir (migration/apigw.py).
        step = running.stage[len("step:"):]
        where = running.data_dir / "monolith" if step.startswith("1") else running.data_dir
        return (where / "signing-key.pem").read_text()
    if running.stage == "1":
        return (running.data_dir / "signing-key.pem").read_text()
    if running.stage == "2":
        return (running.data_dir / "identity" / "identity-signing-key.pem").read_text()
    # Stage 3: the SSM parameter in the local emulator, whose endpoint prefixes the API URL.
    import boto3  # only here: a stage-1-only environment has no boto3
    parts = urlsplit(running.base_url)
    ssm = boto3.client("ssm", endpoint_url=f"{parts.scheme}://{parts.netloc}", region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    return ssm.get_parameter(Name="/homesense/local/signing-key", WithDecryption=True)["Parameter"]["Value"]
