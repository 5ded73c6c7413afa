"""Live cutovers of the 2x steps: freeze the moving writes, drain, copy, verify, switch, unfreeze.

Technique, named: a short write freeze at the edge. While a group's data moves, the gateway
answers its writes with 503 + Retry-After (a Mock integration, no backend involved); reads keep
being served by the old owner. The copy and its verification (counts and per-owner checksums)
happen inside the freeze, so the new owner starts with exactly what the old one acknowledged.
A verification that fails leaves the routes where they were.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import psycopg

from migration.apigw import log
from migration.apigw_routing import ApiRouting
from migration.steps import LAMBDA, Step, STEPS, step as find_step

CUTOVER_PREFIX = "HOMESENSE_CUTOVER "
ROLLBACK_PREFIX = "HOMESENSE_ROLLBACK "
# Groups whose data lives in a store (health and push have none).
DATA_GROUPS = ("identity", "devices", "readings", "alerts")
# The stage 2 database that owns each group's rows.
DATABASE_OF = {"identity": "identity", "devices": "devices", "readings": "telemetry", "alerts": "alerts"}
DRAIN_TIMEOUT_S = 30.0
QUIET_S = 1.0


def moving_groups(a: Step, b: Step) -> list[str]:
    """Groups whose owner differs between two steps, in the strangler map's order."""
    return [g for g in a.owners if a.owners[g] != b.owners[g]]


@dataclass
class Cutovers:
    """Drives the front door of a running 2x step from the control channel."""

    step: Step
    stack: object              # stage3_serverless.infra.ministack_process.Ministack
    settings: object           # stage3_serverless.local.LocalSettings
    package: object            # the packaged template the stack was deployed from
    stage2: object             # stage2_microservices.local.runner.LocalTopology
    base_url: str
    lambda_ws_url: str         # the stage 3 WebSocket API, which serves push once it moves
    routing: ApiRouting | None = field(default=None, init=False)
    decommissioned: bool = field(default=False, init=False)

    def _routing(self) -> ApiRouting:
        if self.routing is None:
            cfn = self.stack.client("cloudformation")
            outputs = {o["OutputKey"]: o["OutputValue"] for o in
                       cfn.describe_stacks(StackName=self.settings.stack_name)["Stacks"][0].get("Outputs", [])}
            api_id = outputs["RestAPIId"]
            apigw = self.stack.client("apigateway")
            function = self.physical_id("APIHandler")
            arn = self.stack.client("lambda").get_function(FunctionName=function)["Configuration"]["FunctionArn"]
            region = arn.split(":")[3]
            lambda_uri = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            authorizer_id = next(a["id"] for a in apigw.get_authorizers(restApiId=api_id)["items"]
                                 if a["name"] == "jwt_auth")
            body = self.package.template()["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
            stage_name = self.base_url.rstrip("/").rsplit("/", 1)[1]
            self.routing = ApiRouting(apigw, api_id, stage_name, body, self.stage2.base_url,
                                      lambda_uri, authorizer_id)
            self.routing.observe(self.step.owners)
        return self.routing

    def physical_id(self, logical: str) -> str:
        """A stack resource's physical id (function name, table name)."""
        cfn = self.stack.client("cloudformation")
        return cfn.describe_stack_resource(StackName=self.settings.stack_name,
                                           LogicalResourceId=logical)["StackResourceDetail"]["PhysicalResourceId"]

    def pg_dsn(self, group: str) -> str:
        from stage2_microservices.local.postgres import url

        return url(self.stage2.host, self.stage2.ports["postgres"], DATABASE_OF[group])

    # --- the control channel -------------------------------------------------------------------
    def serve(self, lines, stop) -> None:
        """Read `cutover NAME` / `rollback NAME` lines until EOF or stop."""
        for raw in lines:
            if stop.is_set():
                return
            words = raw.split()
            if len(words) != 2 or words[0] not in ("cutover", "rollback"):
                log(f"control: ignored {raw.strip()!r} (expected `cutover NAME` or `rollback NAME`)")
                continue
            verb, name = words
            try:
                report = self.move(find_step(name), rollback=verb == "rollback")
            except Exception as exc:  # noqa: BLE001 - reported on the channel, the step keeps serving
                report = {"from": self.step.name, "to": name, "ok": False, "error": str(exc)[:2000]}
            prefix = ROLLBACK_PREFIX if verb == "rollback" else CUTOVER_PREFIX
            print(prefix + json.dumps(report), flush=True)

    def move(self, target: Step, rollback: bool = False) -> dict:
        """Move every group whose owner differs from the current step to target's owner."""
        names = [s.name for s in STEPS]
        expected = names.index(self.step.name) + (-1 if rollback else 1)
        if not 0 <= expected < len(names) or names[expected] != target.name:
            raise ValueError(f"from {self.step.name} the next {'rollback' if rollback else 'cutover'} "
                             f"target is not {target.name}")
        if any(owner != LAMBDA for owner in target.owners.values()) and not self.stage2.processes:
            raise ValueError("stage 2 is not running in this topology")
        moving = moving_groups(self.step, target)
        data = [g for g in moving if g in DATA_GROUPS]
        routing = self._routing()
        began = time.monotonic()
        routing.apply(self.step.owners, frozen=frozenset(moving))
        frozen_at = time.monotonic()
        self.drain(data)
        verification = {}
        for group in data:
            verification[group] = self.copy(group, to_lambda=target.owners[group] == LAMBDA)
        ok = all(not v["mismatches"] and v["source_count"] == v["target_count"]
                 for v in verification.values())
        if ok:
            routing.apply(target.owners)
            previous, self.step = self.step, target
        else:
            routing.apply(self.step.owners)
            previous = self.step
        freeze_ms = round((time.monotonic() - frozen_at) * 1000)
        if ok and all(owner == LAMBDA for owner in target.owners.values()):
            # Nothing is served by stage 2 any more: decommission it, so no stale copy keeps
            # escalating alerts or holding WebSockets (their clients reconnect to the new URL).
            log("stage 2 owns nothing now: stopping it")
            self.decommissioned = True
            self.stage2.stop()
        ws_url = self.lambda_ws_url if self.step.owners["push"] == LAMBDA else self.stage2.ws_url
        return {"from": previous.name, "to": target.name, "ok": ok,
                "technique": "write freeze at the edge (Mock 503 + Retry-After), copy, verify, switch",
                "freeze_ms": freeze_ms, "seconds": round(time.monotonic() - began, 3),
                "moved": moving, "ws_url": ws_url, "verification": verification}

    def drain(self, groups: list[str]) -> None:
        """Wait until stage 2 has published and processed everything it acknowledged."""
        if not {"readings", "alerts"} & set(groups):
            # No pipeline to drain, but a write in flight when the freeze began may still commit.
            time.sleep(QUIET_S)
            return
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        databases = ("devices", "telemetry", "alerts")
        quiet_since = None
        while time.monotonic() < deadline:
            pending = 0
            for db in databases:
                dsn = self.pg_dsn({"devices": "devices", "telemetry": "readings", "alerts": "alerts"}[db])
                with psycopg.connect(dsn) as conn:
                    pending += conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
            if pending or not self.consumers_idle():
                quiet_since = None
            else:
                # A write in flight when the freeze began commits a moment later: stay quiet a while.
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= QUIET_S:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"stage 2 did not drain its outboxes and consumers within {DRAIN_TIMEOUT_S:.0f} s")

    def consumers_idle(self) -> bool:
        """Every JetStream consumer has delivered and had acked all it was sent (NATS monitoring)."""
        import urllib.request

        url = f"http://{self.stage2.host}:{self.stage2.ports['nats_monitor']}/jsz?consumers=true"
        with urllib.request.urlopen(url, timeout=5) as resp:
            info = json.load(resp)
        for account in info.get("account_details", []):
            for stream in account.get("stream_detail", []):
                for consumer in stream.get("consumer_detail", []):
                    if consumer.get("num_pending", 0) or consumer.get("num_ack_pending", 0):
                        return False
        return True

    def copy(self, group: str, to_lambda: bool) -> dict:
        """Copy one group's rows to its new owner's store and verify them; the report's JSON."""
        from migration.data import pg_dynamo

        table = self.physical_id("Table")
        dynamodb = self.stack.client("dynamodb")
        if not to_lambda:
            # Routing back from Lambda would need the reverse copy (DynamoDB -> PostgreSQL) of what
            # was written since; the 1x steps show a rollback, this edge does not offer one.
            raise ValueError(f"{group}: only moves to Lambda are supported on this edge")
        getattr(pg_dynamo, f"copy_{group}")(self.pg_dsn(group), table, dynamodb)
        if group == "alerts":
            # Open alerts keep escalating on schedule: each gets its state machine execution.
            pg_dynamo.start_escalations(self.stack.client("stepfunctions"),
                                        self.physical_id("EscalationStateMachine"),
                                        pg_dynamo.pending_escalations(self.pg_dsn(group)))
        return getattr(pg_dynamo, f"verify_{group}")(self.pg_dsn(group), table, dynamodb).to_json()
