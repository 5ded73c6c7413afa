"""compose_test.py without an engine: one clear line; a failure only under CI=true."""
from __future__ import annotations

import pytest

from stage2_microservices.containers import compose_test, engine, images


def _no_engine(*_args, **_kw):
    raise engine.NoEngine("no Docker engine answers `docker info`, and installing one needs root")


@pytest.mark.parametrize("ci,code,word", [(None, 0, "SKIPPED"), ("true", 1, "FAILED")])
def test_without_an_engine_it_says_so_in_one_line(monkeypatch, capsys, tmp_path, ci, code, word):
    monkeypatch.setattr(compose_test, "WORK_DIR", tmp_path)
    monkeypatch.setattr(engine, "ensure_engine", _no_engine)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert compose_test.main([]) == code
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"compose-test: {word}: no Docker engine: no Docker engine answers `docker info`, "
                     "and installing one needs root"]


def test_wheelhouse_holds_exactly_the_dockerfile_pins():
    pins = images.service_requirements()
    assert "fastapi==0.163.2" in pins and len(pins) == len(set(pins))
    locked = images.drift.locked_versions()
    for pin in pins:
        name, version = pin.split("==")
        assert locked[name.split("[")[0].lower()] == version, pin
