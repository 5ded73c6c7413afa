"""Contract suite plumbing: `--stage 1|2|3` (or `--step 1b`) starts locally, `--base-url` uses a running one.

Every fixture is lazy: selecting only contract_tests/spec starts nothing.
"""
from __future__ import annotations

import atexit
import os
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from contract_tests.launcher import (RESTRICTED_ORIGINS, STAGE_NAMES, StageStartError, signing_key_pem as read_signing_key,
                                     start_stage)
from contract_tests.support import Api, User, WsClient

# The second instance also gets a CORS allow-list, so one extra start serves both checks.
LOW_RATE_ENV = {"HOMESENSE_RATE_LIMIT_RPS": "2", "HOMESENSE_RATE_LIMIT_BURST": "5",
                "HOMESENSE_CORS_ORIGINS": ",".join(RESTRICTED_ORIGINS),
                # Per-client login and registration limits low enough to reach in a test.
                "HOMESENSE_LOGIN_CLIENT_FREE_FAILURES": "3", "HOMESENSE_REGISTRATIONS_PER_MINUTE": "3"}


def pytest_addoption(parser):
    group = parser.getgroup("homesense", "HomeSense contract suite")
    group.addoption("--stage", choices=sorted(STAGE_NAMES), default=None,
                    help="start this stage locally (launcher protocol) and test it")
    group.addoption("--step", default=None,
                    help="start this migration step locally (see `make steps`) and test it")
    group.addoption("--base-url", default=None, help="test an already running deployment at this URL")
    group.addoption("--ws-url", default=None,
                    help="its WebSocket URL (default: base URL with ws(s):// and /ws)")
    group.addoption("--rate-limited-base-url", default=None,
                    help="a deployment of the same stage started with a low rate limit, for the 429 test")
    group.addoption("--schemathesis-seed", type=int, default=None,
                    help="replay the property-based run with this seed (default: a random one, printed)")


class _Deployment:
    """What the suite talks to; started on first use in --stage mode."""

    def __init__(self, config):
        self.config = config
        step = config.getoption("--step")
        # A step is started exactly like a stage; the launcher knows its command.
        self.stage = f"step:{step}" if step else config.getoption("--stage")
        self.running = []
        self._main = None
        self._low_rate = None
        self.failed = False
        self._start_errors = {}

    def _start(self, extra_env=None, label=""):
        # A stage that failed to start is not retried for every test.
        if label in self._start_errors:
            pytest.fail(self._start_errors[label], pytrace=False)
        try:
            running = start_stage(self.stage, extra_env, label)
        except StageStartError as exc:
            self._start_errors[label] = str(exc)
            pytest.fail(str(exc), pytrace=False)
        self.running.append(running)
        return running

    def main(self) -> tuple[str, str]:
        if self._main is None:
            base = self.config.getoption("--base-url")
            if self.stage:
                r = self._start()
                self._main = (r.base_url, r.ws_url)
            elif base:
                self._main = (base, self.config.getoption("--ws-url") or _default_ws_url(base))
            else:
                pytest.fail("the contract suite needs --stage 1|2|3 or --base-url URL [--ws-url URL]",
                            pytrace=False)
        return self._main

    def low_rate(self) -> str:
        if self._low_rate is None:
            if self.stage:
                self._low_rate = self._start(LOW_RATE_ENV, "-lowrate").base_url
            elif self.config.getoption("--rate-limited-base-url"):
                self._low_rate = self.config.getoption("--rate-limited-base-url")
            else:
                pytest.skip("429 needs a stage with a low rate limit: use --stage, or pass "
                            "--rate-limited-base-url of a deployment started with a low limit")
        return self._low_rate

    def stop_all(self) -> list[str]:
        notes = []
        for r in reversed(self.running):
            code = r.stop()
            if self.failed:
                notes.append(f"stage {r.stage} at {r.base_url}: logs kept in {r.stderr_path.parent}")
            else:
                r.cleanup()
            if code not in (0, None):
                notes.append(f"stage {r.stage} at {r.base_url} exited with {code} after SIGTERM")
        self.running.clear()
        return notes


def _default_ws_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


def pytest_configure(config):
    config._homesense = _Deployment(config)
    # Read by test_schemathesis at import, which comes after this hook.
    if config.getoption("--schemathesis-seed") is not None:
        os.environ["HOMESENSE_SCHEMATHESIS_SEED"] = str(config.getoption("--schemathesis-seed"))
    config._homesense_notes = []
    # Belt and braces: a stage left running by an aborted session is still stopped by pid.
    atexit.register(config._homesense.stop_all)


def pytest_sessionfinish(session, exitstatus):
    dep = getattr(session.config, "_homesense", None)
    if dep is not None:
        dep.failed = exitstatus not in (0, 5)
        session.config._homesense_notes = dep.stop_all()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for note in getattr(config, "_homesense_notes", []):
        terminalreporter.write_line(f"homesense: {note}")
    st = sys.modules.get("contract_tests.test_schemathesis")
    if st is not None:
        terminalreporter.write_line(f"homesense: schemathesis seed {st.SEED} "
                                    f"(replay: --schemathesis-seed {st.SEED})")


@pytest.fixture(scope="session")
def deployment(pytestconfig) -> _Deployment:
    return pytestconfig._homesense


@pytest.fixture(scope="session")
def stage_name(pytestconfig) -> str | None:
    """`monolith`, `microservices` or `serverless` in --stage mode, else None."""
    step = pytestconfig.getoption("--step")
    if step:
        from migration.steps import step as find_step
        return find_step(step).health_stage
    stage = pytestconfig.getoption("--stage")
    return STAGE_NAMES[stage] if stage else None


@pytest.fixture(scope="session")
def signing_key_pem(deployment, base_url) -> str:
    """PEM of the key the deployment signs with (--stage mode: the suite started it)."""
    if not deployment.stage:
        pytest.skip("signing tokens with the deployment's own key needs --stage")
    return read_signing_key(deployment.running[0])


@pytest.fixture(scope="session")
def base_url(deployment) -> str:
    return deployment.main()[0]


@pytest.fixture(scope="session")
def ws_url(deployment) -> str:
    return deployment.main()[1]


@pytest.fixture(scope="session")
def api(base_url) -> Api:
    return Api(base_url)


@pytest.fixture(scope="session")
def make_user(api):
    """make_user(prefix='ct') -> User with .id .username .password .token .headers."""
    return api.make_user


@pytest.fixture
def user(make_user) -> User:
    return make_user()


@pytest.fixture(scope="module")
def shared_user(make_user) -> User:
    """One user per module, for tests that only look at resources they create themselves."""
    return make_user("shared")


@pytest.fixture
def other_user(make_user) -> User:
    return make_user("other")


@pytest.fixture(scope="session")
def low_rate_stage(deployment) -> str:
    """Base URL of a second instance started with RATE_LIMIT_RPS=2, BURST=5 (and a CORS allow-list)."""
    return deployment.low_rate()


@pytest.fixture(scope="session")
def cors_restricted_stage(deployment, pytestconfig) -> tuple[str, tuple[str, ...]]:
    """(base URL, allowed origins) of the same second instance; --stage or --step mode only."""
    if not deployment.stage:
        pytest.skip("the CORS allow-list check starts its own instance: needs --stage or --step")
    return deployment.low_rate(), RESTRICTED_ORIGINS


@pytest.fixture
def ws_connect(ws_url):
    """ws_connect(token) -> connected WsClient, closed after the test."""
    clients = []

    def connect(token):
        c = WsClient(ws_url, token)
        clients.append(c)
        return c

    yield connect
    for c in clients:
        c.close()
