"""Cutovers of the 1x steps under live traffic, and one rolled back (see traffic.py)."""
import json

import pytest

from migration.cutover_tests.traffic import run_moves


@pytest.mark.parametrize("start,target", [("1a", "1b"), ("1b", "1c"), ("1c", "1d")])
def test_cutover_under_traffic_loses_nothing(start, target):
    report = run_moves(start, [("cutover", target)])
    print(f"\nCUTOVER {start} -> {target}: " + json.dumps(report, indent=1))
    assert [s["to"] for s in report["switches"]] == [target]


def test_rollback_under_traffic_loses_nothing():
    """Readings, alerts and push move out to the services, then back to the monolith."""
    report = run_moves("1b", [("cutover", "1c"), ("rollback", "1b")])
    print("\nCUTOVER 1b -> 1c, ROLLBACK 1c -> 1b: " + json.dumps(report, indent=1))
    assert [s["to"] for s in report["switches"]] == ["1c", "1b"]
