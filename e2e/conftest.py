"""Starts each stage once (the contract suite's launcher) for the browser tests and Newman.

    pytest e2e                    # stages 1, 2 and 3, one after the other
    pytest e2e --e2e-stages 1,3   # a subset
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from contract_tests.launcher import STAGE_NAMES, StageStartError, start_stage

E2E_DIR = Path(__file__).resolve().parent
NODE_MODULES = E2E_DIR / "node_modules"


def pytest_addoption(parser):
    parser.addoption("--e2e-stages", default="1,2,3", help="comma list of stages to start (default 1,2,3)")


def pytest_generate_tests(metafunc):
    if "stage_id" in metafunc.fixturenames:
        stages = [s.strip() for s in metafunc.config.getoption("--e2e-stages").split(",") if s.strip()]
        unknown = sorted(set(stages) - set(STAGE_NAMES))
        if unknown:
            raise pytest.UsageError(f"--e2e-stages: unknown stage(s) {unknown}")
        # Session scope: pytest groups the tests by stage, so each stage starts once and is stopped
        # before the next one starts.
        metafunc.parametrize("stage_id", stages, scope="session")


@pytest.fixture(scope="session")
def node_tools() -> dict[str, str]:
    """node and the pinned npm tools (installed by `make e2e-deps`)."""
    node = shutil.which("node")
    newman = NODE_MODULES / ".bin" / "newman"
    if not node or not newman.exists() or not (NODE_MODULES / "playwright-core").is_dir():
        pytest.fail("Node.js 18+ and e2e/node_modules are needed: run `make e2e-deps` "
                    "(npm ci in e2e/, and Debian's chromium)", pytrace=False)
    return {"node": node, "newman": str(newman)}


@pytest.fixture(scope="session")
def running_stage(stage_id):
    """The stage, started on free ports with a fresh data dir; stopped after its tests."""
    try:
        stage = start_stage(stage_id, label="-e2e")
    except StageStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield stage
    stage.stop()
    stage.cleanup()


@pytest.fixture(scope="session")
def measurements(pytestconfig) -> list[str]:
    """Lines the tests measured, printed at the end of the run."""
    return pytestconfig._homesense_e2e_measurements


def pytest_configure(config):
    config._homesense_e2e_measurements = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in getattr(config, "_homesense_e2e_measurements", []):
        terminalreporter.write_line(f"e2e: {line}")
