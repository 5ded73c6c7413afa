import pytest

from homesense_core import CONTRACT_VERSION, health_body


def test_health_body_names_stage_and_contract_version():
    assert health_body("monolith") == {"status": "ok", "stage": "monolith", "version": "1.0.0"}
    assert CONTRACT_VERSION == "1.0.0"


def test_health_body_rejects_unknown_stage():
    with pytest.raises(ValueError):
        health_body("mainframe")
