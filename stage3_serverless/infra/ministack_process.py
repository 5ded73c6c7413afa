"""Run ministack as our own child process on a chosen host/port with its state under a data dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

REGION = "us-east-1"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
# ministack accepts any credentials when AUTH is off (its default).
_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@dataclass
class Ministack:
    """A running ministack child; stop() ends it by pid."""

    host: str
    port: int
    data_dir: Path
    # Warm Lambda workers per function (ministack_main); 0 keeps ministack's one-per-invocation.
    lambda_workers: int = 4
    process: subprocess.Popen | None = None
    # The module run as ministack (our pool wrapper); the migration steps wrap it once more
    # (migration/ministack_edge.py) to close the emulator's HTTP-proxy gaps.
    module: str = "stage3_serverless.infra.ministack_main"
    # ministack's own snapshot on stop / restore on start (off for the stage: see start()); the
    # tests turn it on to pin down what a restart keeps.
    persist_state: bool = False

    @property
    def endpoint_url(self) -> str:
        """What boto3 (ours and the Lambdas') talks to."""
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """ministack's own output; kept out of our stdout, which carries the ready line."""
        return self.data_dir / "ministack.log"

    def start(self, timeout_s: float = 60) -> None:
        """Start ministack and wait until its health endpoint answers."""
        tmp = self.data_dir / "tmp"
        # Scratch of an earlier run (state is not persisted, so nothing in it is still needed).
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "GATEWAY_PORT": str(self.port),
            "BIND_HOST": self.host,
            "MINISTACK_REGION": REGION,
            # Its pid file and the Lambda workers' unpacked code live under TMPDIR.
            "TMPDIR": str(tmp),
            # State stays in memory: ministack 1.5.33 restores stream-mapping positions but not
            # the stream records, so after a reload the stream handler would skip new records.
            "PERSIST_STATE": "1" if self.persist_state else "0",
            "STATE_DIR": str(self.data_dir / "state"),
            "S3_PERSIST": "0",
            "S3_DATA_DIR": str(self.data_dir / "s3"),
            "LOG_LEVEL": os.environ.get("MINISTACK_LOG_LEVEL", "WARNING"),
            # Workers beyond the first per function are reaped after this much idle time; the
            # pre-warmed pool (local.prewarm) should outlive a coffee break, not 5 minutes.
            "LAMBDA_WARM_TTL_SECONDS": os.environ.get("LAMBDA_WARM_TTL_SECONDS", "3600"),
            "HOMESENSE_STAGE3_LAMBDA_WORKERS": str(self.lambda_workers),
        }
        # Our own AWS settings must not leak into the emulator or the Lambdas it spawns.
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.pop(name, None)
        log = open(self.log_path, "ab")
        try:
            # Our wrapper (ministack plus a bounded, queueing Lambda pool), from the project root so
            # `-m` finds it whatever the caller's working directory.
            self.process = subprocess.Popen([sys.executable, "-m", self.module],
                                            env=env, cwd=_PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ministack exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/_ministack/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"ministack did not answer within {timeout_s:.0f} s; see {self.log_path}")

    def client(self, service: str):
        """A boto3 client bound to this ministack."""
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION,
                            config=Config(retries={"max_attempts": 3}), **_CREDENTIALS)

    def stop(self, grace_s: float = 10) -> None:
        """SIGTERM our child (it saves state on the way out), SIGKILL if it lingers."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
