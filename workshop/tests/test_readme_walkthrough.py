"""The README walkthrough, run as a reader would paste it, against a fresh stage (1 by default).

The blocks marked `<!-- walkthrough:NAME -->` in README.md are run in their order: terminal 2
is one bash fed block by block, terminal 3 is the interactive WebSocket client started with the
line terminal 2 printed. Set WALKTHROUGH_STAGES="1 2 3" to run it against every stage.
"""
from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from contract_tests.launcher import start_stage
from stage3_serverless.local import export_line

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
BLOCK_RE = re.compile(r"<!-- walkthrough:(\w+) -->\s*\n```sh\n(.*?)```", re.S)
EXPECTED_BLOCKS = ["env", "setup", "watch", "readings", "ack"]
STAGES = os.environ.get("WALKTHROUGH_STAGES", "1").split()


def walkthrough_blocks() -> dict[str, str]:
    """The marked shell blocks of README.md, by name, in document order."""
    blocks = {name: body for name, body in BLOCK_RE.findall(README.read_text())}
    assert list(blocks) == EXPECTED_BLOCKS, f"README walkthrough blocks changed: {list(blocks)}"
    return blocks


class LineReader:
    """Collects a process's output lines in a thread so waits can time out."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._queue: "queue.Queue[str | None]" = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for raw in stream:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, needle: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        for line in self.lines:
            if needle in line:
                return line
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} not seen within {timeout_s} s; output so far:\n{''.join(self.lines)}")


def env_line(running) -> str:
    """Stage 3: the `export BASE=... WS=...` line it printed; stages 1 and 2: the same line for their URLs."""
    expected = export_line({"base_url": running.base_url, "ws_url": running.ws_url})
    if running.stage != "3":
        return expected
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # printed to stderr right after the ready line
        printed = [line for line in running.stderr_path.read_text(errors="replace").splitlines()
                   if line.startswith("export BASE=")]
        if printed:
            assert printed[-1] == expected, f"stage 3 printed {printed[-1]!r}, not its URLs"
            return printed[-1]
        time.sleep(0.2)
    raise AssertionError("stage 3 did not print an `export BASE=... WS=...` line")


def test_walkthrough_blocks_are_marked_in_order():
    blocks = walkthrough_blocks()
    assert "export BASE=" in blocks["env"]
    assert "$WS?token=$TOKEN" in blocks["watch"]


def test_stage3_prints_a_line_that_sets_base_and_ws():
    line = export_line({"base_url": "http://127.0.0.1:8000/_aws/execute-api/abc123/api",
                        "ws_url": "ws://127.0.0.1:8000/_aws/execute-api/def456/api"})
    # A reader copies it by eye too: plain URLs stay unquoted.
    assert line == ("export BASE=http://127.0.0.1:8000/_aws/execute-api/abc123/api "
                    "WS=ws://127.0.0.1:8000/_aws/execute-api/def456/api")
    out = subprocess.run(["bash", "-c", f'{line}\necho "$BASE|$WS"'], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("http://127.0.0.1:8000/_aws/execute-api/abc123/api|"
                                  "ws://127.0.0.1:8000/_aws/execute-api/def456/api")


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_readme_walkthrough_runs_against_a_fresh_stage(stage):
    blocks = walkthrough_blocks()
    running = start_stage(stage, label="-walkthrough")
    terminal2 = watcher = None
    try:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Terminal 2: the env block is replaced by the URLs this stage announced (as a stage 3 reader
        # pastes the line `make stage3` printed); -e so that any failing command fails the test.
        terminal2 = subprocess.Popen(["bash", "-eu", "-o", "pipefail"], cwd=REPO_ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out2 = LineReader(terminal2.stdout)
        send = terminal2.stdin.write
        send(f"{env_line(running)}\n".encode())
        send(blocks["setup"].encode() + b"echo __SETUP_DONE__\n")
        terminal2.stdin.flush()
        out2.wait_for("__SETUP_DONE__", 60)
        paste = out2.wait_for("export WS=", 1).strip()

        # Terminal 3: the pasted line, then the interactive client; stdin stays open like a terminal.
        watcher = subprocess.Popen(["bash", "-euc", f"{paste}\n{blocks['watch']}"], cwd=REPO_ROOT, env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out3 = LineReader(watcher.stdout)
        out3.wait_for("Connected to", 30)
        watcher.stdin.write(b'{"action": "ping"}\n')
        watcher.stdin.flush()
        out3.wait_for('"pong"', 10)

        send(blocks["readings"].encode() + b"echo __READINGS_DONE__\n")
        terminal2.stdin.flush()
        out2.wait_for("__READINGS_DONE__", 60)
        alert_line = out2.wait_for("ALERT=", 1)
        assert re.fullmatch(r"ALERT=[A-Za-z0-9_-]+", alert_line.strip()), "".join(out2.lines)
        # The reader sees alert.opened in terminal 3 before acknowledging.
        out3.wait_for("alert.opened", 10)

        send(blocks["ack"].encode() + b"exit\n")
        terminal2.stdin.close()
        assert terminal2.wait(60) == 0, "".join(out2.lines)
        assert '"status":"acknowledged"' in "".join(out2.lines).replace(" ", ""), "".join(out2.lines)
        out3.wait_for("alert.acknowledged", 10)
        watcher.stdin.close()  # Ctrl-D
        assert watcher.wait(30) == 0, "".join(out3.lines)
    finally:
        for proc in (terminal2, watcher):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        running.stop()
        running.cleanup()

