"""Every graded exercise is proven: its grader FAILS on the starting point and PASSES on the reference solution.

The reference solution is the repository itself: the proof checks that reversing start.patch in the prepared
copy gives back the repository's files, and runs every exercise's judges on the repository in one process
(one pytest start instead of one per exercise keeps `make test` short). A patch that no longer applies (the
code it removes was refactored) fails here, naming the file to regenerate.
"""
from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest

from workshop.exercises import EXERCISES, REPO_ROOT, apply_patch, grade, prepare, run_judges


def patched_files(ex) -> list[str]:
    return [line.split()[2][2:] for line in ex.patch.read_text().splitlines() if line.startswith("diff --git ")]


def test_every_exercise_has_its_text_patch_and_existing_judges():
    assert len(EXERCISES) >= 3
    for ex in EXERCISES.values():
        assert (ex.directory / "README.md").is_file(), ex.slug
        assert patched_files(ex), f"{ex.patch} changes nothing"
        for node in ex.judges:
            assert (REPO_ROOT / node.split("::")[0]).is_file(), f"exercise {ex.number}: judge {node} is gone"


def test_an_exercise_changes_the_contract_and_all_three_stages():
    needed = {"contract", "stage1_monolith", "stage2_microservices", "stage3_serverless"}
    assert any(needed <= {name.split("/")[0] for name in patched_files(ex)} for ex in EXERCISES.values())


@pytest.fixture
def work_dir():
    """A folder under the checkout's var/, where `make exercise` works too (inside the checkout's git tree)."""
    path = REPO_ROOT / "var" / "exercise-proofs" / uuid.uuid4().hex[:12]
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_grader_fails_on_the_starting_point(number, work_dir):
    started = time.monotonic()
    ex = EXERCISES[number]
    dest = prepare(number, work_dir)
    # Exit 1 is "tests ran and failed"; 2-5 would mean the starting point cannot even be collected.
    assert grade(number, dest) == 1, f"exercise {number}: the grader must fail (exit 1) on the starting point"
    apply_patch(ex, dest, reverse=True)
    for name in patched_files(ex):
        assert (dest / name).read_bytes() == (REPO_ROOT / name).read_bytes(), \
            f"exercise {number}: reversing {ex.patch.name} does not give back {name}"
    print(f"exercise {number}: prepared and graded (fails) in {time.monotonic() - started:.1f} s")


def test_every_grader_passes_on_the_reference_solution():
    started = time.monotonic()
    judges = sorted({node for ex in EXERCISES.values() for node in ex.judges})
    done = run_judges(judges, REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"a grader fails on the reference solution:\n{done.stdout[-4000:]}"
    print(f"all graders pass on the reference in {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("goals", [["exercise", "2"], ["exercise", "N=2"], ["grade", "2"]])
def test_make_takes_the_exercise_number_either_way(goals):
    dry = subprocess.run(["make", "-n", *goals], cwd=REPO_ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    verb = "prepare" if goals[0] == "exercise" else "grade"
    assert f"-m workshop.exercises {verb} 2" in dry.stdout, dry.stdout
