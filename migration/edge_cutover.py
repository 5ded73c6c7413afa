"""Live cutovers between 1x steps: `cutover NAME` / `rollback NAME` read from stdin (`--control`).

Technique (named in every answer as TECHNIQUE): a short write freeze at the edge. For the route
groups whose owner changes:
  1. start what the new owner needs (before the freeze: clients notice nothing);
  2. freeze: Envoy answers their writes (POST/PUT/PATCH/DELETE) itself with 503 problem+json and
     `Retry-After: 1`; reads keep flowing to the old owner;
  3. copy the groups' rows old store -> new store (idempotent upserts) and verify them (counts and a
     checksum per owner);
  4. verified: one routes-file swap re-points the groups at the new owner and lifts the freeze;
     not verified: the freeze is lifted with the old routes (refuse to cut over on a mismatch).
freeze_ms runs from the request to freeze until Envoy serves the unfrozen routes.
The answer is ONE stdout line, `HOMESENSE_CUTOVER {json}` or `HOMESENSE_ROLLBACK {json}`.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from typing import TextIO


from migration.data import pg_sqlite, sqlite_pg
from migration.steps import GROUPS, MONOLITH, STEP_NAMES, Step, previous, step

TECHNIQUE = ("edge write freeze (Envoy 503 problem+json + Retry-After: 1 on the moving groups' writes), "
             "copy + verify (counts, per-owner checksums), atomic RDS routes-file swap, unfreeze")
# Requests already past the edge when the freeze began finish within this (they take ms here).
IN_FLIGHT_GRACE_S = 1.0
# Which stored data each route group carries (push and health carry none).
DATA_OF_GROUP = {"identity": "identity", "devices": "devices", "readings": "readings", "alerts": "alerts"}


def _stderr(message: str) -> None:
    print(f"[edge] {message}", file=sys.stderr, flush=True)


# --- data movers: copy and verify per data group, forward (SQLite -> PostgreSQL) and back --------
class Mover:
    """Moves one data group between the monolith's SQLite and a service's database.

    The copies are the offline migration's own (migration.data), so the live cutover and the
    backfill share one definition of each group; verification is direction-free."""

    def __init__(self, service: str, group: str):
        self.service = service
        self._forward = getattr(sqlite_pg, f"copy_{group}")
        self._back = pg_sqlite.COPY_BACK[group]
        self._verify = getattr(sqlite_pg, f"verify_{group}")

    def forward(self, sqlite_path, dsn: str) -> None:
        self._forward(sqlite_path, dsn, progress=_stderr)

    def backward(self, sqlite_path, dsn: str) -> None:
        self._back(dsn, sqlite_path, progress=_stderr)

    def verify(self, sqlite_path, dsn: str):
        return self._verify(sqlite_path, dsn)


def _movers() -> dict[str, Mover]:
    return {"identity": Mover("identity", "identity"), "devices": Mover("devices", "devices"),
            "readings": Mover("telemetry", "readings"), "alerts": Mover("alerts", "alerts")}


def _ms_since(t0: float) -> int:
    """Milliseconds since t0 (phases are reported cumulatively from the start of the freeze)."""
    return round((time.monotonic() - t0) * 1000)


class CutoverError(RuntimeError):
    """A command that cannot be carried out (the routes are left as they were)."""


class Controller:
    """Reads commands, moves route groups between owners, answers one line per command."""

    def __init__(self, topo):
        self.topo = topo
        self.current: Step = topo.step

    def serve(self, stdin: TextIO, stdout: TextIO) -> None:
        for line in stdin:
            words = line.split()
            if not words:
                continue
            verb, target = words[0], words[1] if len(words) > 1 else ""
            if verb not in ("cutover", "rollback"):
                _stderr(f"unknown command {line.strip()!r} (cutover NAME | rollback NAME)")
                continue
            result = self.command(verb, target)
            prefix = "HOMESENSE_CUTOVER" if verb == "cutover" else "HOMESENSE_ROLLBACK"
            stdout.write(f"{prefix} {json.dumps(result)}\n")
            stdout.flush()

    def command(self, verb: str, target_name: str) -> dict:
        began = time.monotonic()
        result = {"from": self.current.name, "to": target_name, "ok": False, "technique": TECHNIQUE,
                  "freeze_ms": None, "seconds": 0.0, "verification": {}}
        try:
            target = self._check(verb, target_name)
            self._move(target, forward=verb == "cutover", result=result)
        except CutoverError as exc:
            result["error"] = str(exc)
        except Exception as exc:  # report, keep serving: the process tree is still up
            traceback.print_exc()
            result["error"] = f"{type(exc).__name__}: {exc}"
        result["seconds"] = round(time.monotonic() - began, 3)
        _stderr(f"{verb} {result['from']} -> {target_name}: ok={result['ok']} freeze_ms={result['freeze_ms']}")
        return result

    def _check(self, verb: str, target_name: str) -> Step:
        if target_name not in STEP_NAMES:
            raise CutoverError(f"no step {target_name!r}")
        target = step(target_name)
        if target.edge != "envoy":
            raise CutoverError(f"step {target_name} is not behind this edge (Envoy)")
        if verb == "cutover":
            index = STEP_NAMES.index(self.current.name)
            if index + 1 >= len(STEP_NAMES) or STEP_NAMES[index + 1] != target_name:
                raise CutoverError(f"cutover goes to the next step; {target_name} does not follow {self.current.name}")
        elif previous(self.current.name) is None or previous(self.current.name).name != target_name:
            raise CutoverError(f"rollback goes to the previous step; {target_name} is not before {self.current.name}")
        return target

    def _move(self, target: Step, forward: bool, result: dict) -> None:
        topo = self.topo
        moving = [g for g in GROUPS if self.current.owners[g] != target.owners[g]]
        movers = _movers()
        data = [DATA_OF_GROUP[g] for g in moving if g in DATA_OF_GROUP]
        # Alerts leaving the monolith (1b -> 1c) or coming back to it (1c -> 1b): the background
        # work (alert evaluation, escalation, push) changes hands too.
        alerts_out = forward and "alerts" in moving and self.current.owners["alerts"] == MONOLITH
        alerts_back = not forward and "alerts" in moving and target.owners["alerts"] == MONOLITH
        # 1. The new owners run before anything freezes.
        if MONOLITH in target.owners.values():
            topo.ensure_monolith()
        topo.start_services(topo.services_for(target.owners))
        # 2. Freeze the moving groups' writes at the edge. Device writes freeze with readings and
        # alerts too: a device deleted mid-copy would leave its copied readings and alerts behind.
        frozen = {g for g in moving if g in DATA_OF_GROUP}
        if alerts_out or alerts_back:
            frozen.add("devices")
        t0 = time.monotonic()
        topo.set_routes(frozen=frozenset(frozen))
        phases = result["phases_ms"] = {"freeze": _ms_since(t0)}
        switched = False
        try:
            if not (alerts_out or alerts_back):
                # A write that reached the old owner just before the freeze may still be
                # committing; the hand-overs below wait for a quiet outbox instead.
                time.sleep(IN_FLIGHT_GRACE_S)
            if alerts_out:
                # The monolith stops escalating and handles (and relays) every pending outbox event,
                # so the copy sees every alert the readings accepted so far will ever open.
                result["handover"] = topo.monolith_call("/internal/migration/handover")
                if result["handover"]["outbox_pending"]:
                    raise CutoverError(f"the monolith's outbox did not drain: {result['handover']}")
                phases["handover"] = _ms_since(t0)
            if alerts_back:
                # Every accepted reading evaluated, then alerts stops (no escalation after the copy):
                # reads of /alerts answer 503 for the rest of the freeze, the price of a safe rollback.
                result["handover"] = {"pipeline_drain_s": topo.wait_pipeline_idle()}
                topo.services.stop_process("alerts")
                phases["handover"] = _ms_since(t0)
            # 3. Copy and verify, in the direction of the move.
            ok = True
            for group in data:
                mover = movers[group]
                dsn = topo.database_url(mover.service)
                (mover.forward if forward else mover.backward)(topo.sqlite_path, dsn)
                verification = mover.verify(topo.sqlite_path, dsn)
                result["verification"][group] = verification.to_json()
                phases[f"copy+verify {group}"] = _ms_since(t0)
                ok = ok and verification.ok
            # 4. Switch and unfreeze in one routes swap, or only unfreeze.
            if ok:
                topo.set_routes(owners=target.owners, frozen=frozenset())
                switched = True
            else:
                result["error"] = "verification failed: routes not switched"
        finally:
            if not switched:
                if alerts_back:
                    topo.start_services(["alerts"])
                topo.set_routes(frozen=frozenset())
                if alerts_out:
                    topo.monolith_call("/internal/migration/resume")
            result["freeze_ms"] = round((time.monotonic() - t0) * 1000)
        if switched:
            if alerts_out and "push" in moving:
                # /ws now routes to the notifier; the monolith closes its sockets (1012) so clients
                # reconnect there. Sockets whose owner did not change were never touched.
                result["push_disconnected"] = topo.monolith_call("/internal/migration/disconnect-push")["closed"]
            if alerts_back:
                topo.monolith_call("/internal/migration/resume")
                # Stopping the notifier closes its sockets, so clients reconnect to the monolith;
                # telemetry and alerts own nothing any more.
                for name in ("notifier", "telemetry"):
                    topo.services.stop_process(name)
            result["ok"] = True
            self.current = target
            topo.step = target
