"""Cutovers of the 2x steps under live traffic (see traffic.py for what is checked)."""
import json

import pytest

from migration.cutover_tests.traffic import run_moves


@pytest.mark.parametrize("start,target", [("2a", "2b"), ("2b", "2c")])
def test_cutover_under_traffic_loses_nothing(start, target):
    report = run_moves(start, [("cutover", target)])
    print(f"\nCUTOVER {start} -> {target}: " + json.dumps(report, indent=1))
    assert [s["to"] for s in report["switches"]] == [target]
