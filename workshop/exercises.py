"""Graded exercises: `python -m workshop.exercises prepare N` and `... grade N` (what `make exercise`/`make grade` run).

An exercise is the repository with one feature taken out by a patch (docs/workshop/exercises/<slug>/start.patch).
`prepare` copies the current checkout to var/exercises/N, applies the patch and commits the result in a
fresh git repository there, so `git diff` shows the student's own work only. `grade` runs the judging
tests inside that copy. The reference solution is the repository itself (the patch reversed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXERCISES_DIR = REPO_ROOT / "docs" / "workshop" / "exercises"
WORK_ROOT = REPO_ROOT / "var" / "exercises"


@dataclass(frozen=True)
class Exercise:
    number: str
    slug: str
    title: str
    judges: tuple[str, ...]  # pytest node ids, relative to the repository root

    @property
    def directory(self) -> Path:
        return EXERCISES_DIR / self.slug

    @property
    def patch(self) -> Path:
        return self.directory / "start.patch"


EXERCISES = {e.number: e for e in (
    Exercise("1", "01-profile-route", "GET /me: one route through the contract and all three stages", (
        "contract_tests/spec/test_openapi_spec.py::test_exactly_the_designed_operations",
        "workshop/judges/test_stage1_profile.py",
        "stage2_microservices/services/identity/tests/test_identity.py::test_signup_login_and_me",
        "stage2_microservices/services/identity/tests/test_identity.py::test_me_without_gateway_header_is_401",
        "stage3_serverless/tests/unit/test_accounts_routes.py::test_register_then_token_then_me",
    )),
    Exercise("2", "02-escalation-cap", "Escalation stops at level 3: one rule, every stage", (
        "homesense_core/tests/test_escalation.py::test_escalation_climbs_to_level_three_and_stops",
        "stage1_monolith/tests/test_processing.py::test_open_alert_escalates_each_period_up_to_level_three",
        "stage2_microservices/services/alerts/tests/test_alert_service.py::test_escalates_each_period_up_to_level_3_then_stops",
    )),
    Exercise("3", "03-outbox", "The transactional outbox: readings become events", (
        "stage1_monolith/tests/test_services.py::test_readings_and_their_event_are_written_together",
        "stage1_monolith/tests/test_processing.py::test_batch_is_evaluated_in_array_order",
        "stage1_monolith/tests/test_processing.py::test_events_are_marked_done_exactly_once",
        "stage1_monolith/tests/test_http.py::test_another_users_alert_is_404_and_ack_of_resolved_is_409",
    )),
)}


class ExerciseError(RuntimeError):
    """An exercise cannot be prepared or graded; the message says what to do."""


def exercise(number: str) -> Exercise:
    if number not in EXERCISES:
        raise ExerciseError(f"no exercise {number!r}; there are {', '.join(EXERCISES)} (docs/workshop/exercises/)")
    return EXERCISES[number]


def tracked_files(repo: Path) -> list[str]:
    """The checkout's files as they are now (tracked and new, not ignored), so local edits are included."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=repo, capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name and (repo / name).is_file()]


def copy_checkout(dest: Path, repo: Path = REPO_ROOT) -> None:
    """Copy the checkout's files (not .venv, var/ or .git) to dest."""
    for name in tracked_files(repo):
        if name.startswith("var/"):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)


def _git(dest: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=workshop", "-c", "user.email=workshop@localhost",
                    "-c", "init.defaultBranch=main", *args], cwd=dest, check=True, capture_output=True)


def apply_patch(ex: Exercise, dest: Path, reverse: bool = False) -> None:
    """Apply the exercise's start.patch in dest, or explain why it no longer applies."""
    cmd = ["git", "apply", "--whitespace=nowarn", *(["-R"] if reverse else []), str(ex.patch)]
    done = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    if done.returncode != 0:
        raise ExerciseError(
            f"exercise {ex.number} ({ex.slug}): {ex.patch.relative_to(REPO_ROOT)} no longer applies "
            f"{'in reverse ' if reverse else ''}to this checkout; the code it removes has changed.\n"
            f"git apply said:\n{done.stderr.strip()}\n"
            f"To regenerate it: remove the feature again in a clean checkout and save `git diff` as that file "
            f"(docs/workshop/exercises/README.md, 'Maintaining').")


def prepare(number: str, dest: Path | None = None, repo: Path = REPO_ROOT) -> Path:
    """Make the exercise's starting point in dest (default var/exercises/N); returns dest."""
    ex = exercise(number)
    dest = dest or WORK_ROOT / number
    if dest.exists() and any(dest.iterdir()):
        raise ExerciseError(f"{dest} exists already (your work?). Remove it to start exercise {number} again.")
    dest.mkdir(parents=True, exist_ok=True)
    copy_checkout(dest, repo)
    # Its own repository before the patch: inside the checkout (var/), `git apply` would otherwise take
    # paths relative to the checkout's root and silently skip them.
    _git(dest, "init", "-q")
    apply_patch(ex, dest)
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", f"Starting point of exercise {number}: {ex.title}")
    return dest


def grade(number: str, dest: Path | None = None, extra_args: tuple[str, ...] = ()) -> int:
    """Run the judging tests inside dest; returns pytest's exit code (0 passed, 1 tests failed)."""
    ex = exercise(number)
    dest = dest or WORK_ROOT / number
    if not (dest / "Makefile").exists():
        raise ExerciseError(f"{dest} is not prepared; run `make exercise {number}` first.")
    return run_judges(ex.judges, dest, extra_args).returncode


def run_judges(judges, root: Path, extra_args: tuple[str, ...] = (), **run_kwargs) -> subprocess.CompletedProcess:
    """pytest on the given node ids with root's packages first on the import path."""
    # Only the plugins the judges need (timeouts, anyio for stage 2's async tests): skipping the
    # autoloaded rest (schemathesis, hypothesis) halves pytest's start-up.
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_timeout", "-p", "anyio",
           *extra_args, *judges]
    return subprocess.run(cmd, cwd=root, env=env, **run_kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.exercises")
    parser.add_argument("command", choices=["prepare", "grade", "list"])
    parser.add_argument("number", nargs="?", default="")
    args = parser.parse_args(argv)
    try:
        if args.command == "list" or not args.number:
            for ex in EXERCISES.values():
                print(f"{ex.number}  {ex.title}  (docs/workshop/exercises/{ex.slug}/README.md)")
            return 0 if args.command == "list" else 2
        if args.command == "prepare":
            dest = prepare(args.number)
            ex = exercise(args.number)
            print(f"Exercise {ex.number} is ready in {dest.relative_to(REPO_ROOT)}: {ex.title}.\n"
                  f"Read docs/workshop/exercises/{ex.slug}/README.md, work in that folder, "
                  f"then run `make grade {ex.number}`.")
            return 0
        code = grade(args.number)
        print(f"\nexercise {args.number}: {'PASSED' if code == 0 else 'not yet (see the failures above)'}")
        return code
    except ExerciseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
