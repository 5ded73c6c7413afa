"""Hygiene of the built service images (run by compose_test.py after `docker compose build`)."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

IMAGES = json.loads(os.environ.get("HOMESENSE_LIVE_IMAGES", "[]"))
# Names and values that must never be baked into an image (the services get them at run time).
SECRET_WORDS = re.compile(r"password|secret|private|token|api[_-]?key", re.IGNORECASE)


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120).stdout


def inspect(ref: str) -> dict:
    return json.loads(docker("image", "inspect", ref))[0]


def test_five_service_images_were_built():
    assert len(IMAGES) == 5, IMAGES


@pytest.mark.parametrize("ref", IMAGES)
def test_runs_as_a_non_root_user(ref):
    user = inspect(ref)["Config"].get("User") or "root"
    assert user.split(":")[0] not in ("root", "0"), f"{ref} runs as {user}"
    assert docker("run", "--rm", "--entrypoint", "id", ref, "-u").strip() != "0"


@pytest.mark.parametrize("ref", IMAGES)
def test_has_a_healthcheck(ref):
    test = (inspect(ref)["Config"].get("Healthcheck") or {}).get("Test") or []
    assert test and test[0] in ("CMD", "CMD-SHELL") and "/healthz" in " ".join(test), test


@pytest.mark.parametrize("ref", IMAGES)
def test_no_secret_in_environment_or_build_history(ref):
    env = inspect(ref)["Config"].get("Env") or []
    assert [e for e in env if SECRET_WORDS.search(e.split("=")[0])] == []
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", ref)
    assert [line for line in history.splitlines() if SECRET_WORDS.search(line)] == []


@pytest.mark.parametrize("ref", IMAGES)
def test_image_holds_no_tests_wheels_keys_or_local_state(ref):
    # The signing key is made at run time in a volume; tests, wheels and var/ stay out
    # (.dockerignore, and the wheels live only in the build stage). Run as root so that no
    # directory is unreadable to the search: this inspects, it serves nothing.
    def run(*argv: str) -> list[str]:
        done = subprocess.run(["docker", "run", "--rm", "--user", "0", "--entrypoint", argv[0], ref,
                               *argv[1:]], capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr  # grep: 1 means "nothing found"
        return done.stdout.split()

    assert run("find", "/app", "/var/lib/homesense", "(", "-name", "tests", "-o", "-name", "var",
               "-o", "-name", ".git", "-o", "-name", "*.pem", "-o", "-name", "*.key", "-o",
               "-name", ".env", "-o", "-name", "conftest.py", ")", "-print") == []
    # Debian's ensurepip wheels in /usr/share/python-wheels belong to the base image.
    assert run("find", "/", "-xdev", "-path", "/usr/share/python-wheels", "-prune", "-o",
               "-name", "*.whl", "-print") == []
    # A PEM block on its own line is a key file; source code that merely names the marker is not.
    assert run("grep", "-rlIE", "--", "^-----BEGIN [A-Z ]*PRIVATE KEY-----$", "/app", "/opt", "/var/lib/homesense",
               "/etc", "/root", "/tmp") == []


def test_the_checks_can_fail():
    assert SECRET_WORDS.search("ENV POSTGRES_PASSWORD=x") and SECRET_WORDS.search("JWT_PRIVATE_KEY")
    assert not SECRET_WORDS.search("PATH=/opt/venv/bin")
