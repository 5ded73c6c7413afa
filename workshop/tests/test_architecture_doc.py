"""docs/architecture.md shows the side-by-side diffs as the code in the tree has them."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "docs" / "side_by_side.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_the_side_by_side_diffs_are_regenerated_from_the_tree():
    done = _run("--check")
    assert done.returncode == 0, done.stderr


def test_a_stale_diff_is_found():
    spec = importlib.util.spec_from_file_location("side_by_side", SCRIPT)
    side_by_side = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(side_by_side)
    text = side_by_side.DOC.read_text()
    stale = text.replace("+def accept_readings(deps: Dependencies", "+def accept_readings(ctx: Dependencies", 1)
    assert stale != text
    assert side_by_side.render(stale) == text  # the block comes back as the code has it
    # Every use-case file of stages 1 and 3 and the function extracts are covered.
    for name in ("readings", "devices", "alerts", "accounts"):
        assert f"side-by-side: stage1_monolith/services/{name}.py stage3_serverless" in text
    assert "TelemetryService.accept_readings" in text
