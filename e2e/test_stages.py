"""Against every stage: the browser tests (API explorer, live dashboard) and the Postman collection."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from e2e.conftest import E2E_DIR

REPO_ROOT = E2E_DIR.parent
COLLECTION = REPO_ROOT / "postman" / "homesense.postman_collection.json"
ENVIRONMENTS = REPO_ROOT / "postman" / "environments"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
RUN_TIMEOUT_S = 240

pytestmark = pytest.mark.timeout(RUN_TIMEOUT_S + 300)  # the first test of a stage also starts it


def _run(cmd: list[str], env: dict[str, str], what: str, measurements: list[str]) -> str:
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=E2E_DIR, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    print(output)
    measurements.append(f"{what}: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, f"{what} failed (exit {done.returncode}):\n{output[-8000:]}"
    return output


def test_browser(running_stage, stage_id, node_tools, measurements):
    """/docs executes one "Try it out"; the dashboard shows a pushed alert within 5 s (screenshots)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make e2e-deps` installs Debian's chromium", pytrace=False)
    env = {"HOMESENSE_BASE_URL": running_stage.base_url, "HOMESENSE_WS_URL": running_stage.ws_url,
           "HOMESENSE_STAGE": stage_id, "CHROMIUM_PATH": CHROMIUM,
           "HOMESENSE_SCREENSHOT_DIR": os.environ.get("HOMESENSE_SCREENSHOT_DIR", str(SCREENSHOTS))}
    output = _run([node_tools["node"], "--test", "browser.test.mjs"], env,
                  f"browser tests against stage {stage_id}", measurements)
    assert "alert on the page" in output
    # The measured numbers (alert latency, push vs poll requests) go into the session summary.
    measurements.extend(line.lstrip("# ").strip() for line in output.splitlines()
                        if line.lstrip("# ").startswith(f"stage {stage_id}:"))


def test_newman(running_stage, stage_id, node_tools, measurements):
    """The collection, walkthrough first, runs green with the stage's environment."""
    environment = ENVIRONMENTS / f"stage{stage_id}.postman_environment.json"
    cmd = [node_tools["newman"], "run", str(COLLECTION), "--environment", str(environment),
           # The environment holds the default URLs; the launcher picked free ports (and API ids).
           "--env-var", f"baseUrl={running_stage.base_url}", "--env-var", f"wsUrl={running_stage.ws_url}",
           "--color", "off", "--timeout-request", "30000"]
    output = _run(cmd, {}, f"newman against stage {stage_id}", measurements)
    assert "Poll until the alert exists" in output and "AssertionError" not in output
