"""Cost model: each stage at 1M, 10M and 100M requests/month from bench/prices.json.

Every assumption is a named constant below and is printed into docs/bench/cost.md. Stage 1 and 2 are
flat (capacity is provisioned; the measured throughput says one instance / the minimum task count
carries 100M requests/month, see CAPACITY_NOTE); stage 3 is paid per request. The break-even is
where the per-request line crosses a flat one. Polling vs push prices the seed's event-driven
lesson: one client polling at 1 Hz against one client holding a WebSocket.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

PRICES = Path(__file__).with_name("prices.json")
VOLUMES = (1_000_000, 10_000_000, 100_000_000)

# Request mix and per-request work (stage 3).
READ_SHARE = 0.8                      # GETs; the rest are 1-reading POSTs
RRU_PER_READ = 2                      # the item or page asked for + the ownership/idempotency lookup (4 KB, strongly consistent)
WRU_PER_WRITE = 3                     # reading item, batch marker, device summary
RRU_PER_WRITE_IN_STREAM = 4           # stream handler: device, active alerts, batch check, connections
WRITES_PER_STREAM_BATCH = 10          # records that one on_table_change invocation handles at this rate
ALERTS_PER_WRITE = 0.001              # one alert opened per thousand readings
TRANSITIONS_PER_ALERT = 12            # escalation to level 3 (stage 3 README)
LAMBDA = {  # name: (memory MB, assumed warm duration on AWS in ms, invocations per request)
    "api_handler": (1024, 60, 1.0),
    "jwt_auth": (256, 15, 1.0),       # ttl_seconds=0: the authorizer runs on every call
}
STREAM = (512, 200)                   # on_table_change: memory MB, ms per batch

# Stage 1: one instance, its disk. Stage 2: Fargate tasks, one RDS instance, a load balancer.
STAGE1 = {"instance": "t3.medium", "ebs_gb": 20}
STAGE2_TASKS = {  # name: (count, vCPU, GB)
    "envoy": (2, 0.25, 0.5), "identity": (2, 0.25, 0.5), "devices": (2, 0.25, 0.5),
    "telemetry": (2, 0.25, 0.5), "alerts": (2, 0.25, 0.5), "notifier": (2, 0.25, 0.5),
    "nats": (1, 0.25, 0.5),
}
STAGE2_RDS = {"instance": "db.t4g.small", "storage_gb": 20}
STAGE2_ALB_LCU = 1.0
CAPACITY_NOTE = ("100M requests/month is 38.6 req/s on average, ~190 req/s at a 5x peak: within what one "
                 "stage 1 process and stage 2's minimum of two tasks per service served in `make bench` "
                 "on two shared cores, so the flat stages do not scale out in this range.")
SECONDS_PER_MONTH = 730 * 3600


def load_prices(path: Path = PRICES) -> dict:
    return json.loads(path.read_text())


def stage3_per_million(p: dict) -> dict[str, float]:
    """Dollars per million API requests, by line item."""
    lam, ddb = p["lambda"], p["dynamodb_on_demand"]
    writes = 1_000_000 * (1 - READ_SHARE)
    reads = 1_000_000 * READ_SHARE
    batches = writes / WRITES_PER_STREAM_BATCH
    invocations = sum(per for _, _, per in LAMBDA.values()) * 1_000_000 + batches
    gb_s = sum(mem / 1024 * ms / 1000 * per * 1_000_000 for mem, ms, per in LAMBDA.values())
    gb_s += batches * STREAM[0] / 1024 * STREAM[1] / 1000
    rru = reads * RRU_PER_READ + writes * RRU_PER_WRITE_IN_STREAM
    wru = writes * WRU_PER_WRITE
    transitions = writes * ALERTS_PER_WRITE * TRANSITIONS_PER_ALERT
    return {
        "api_gateway_rest": p["api_gateway"]["rest_per_million_requests"],
        "lambda_requests": invocations / 1e6 * lam["per_million_requests"],
        "lambda_gb_seconds": gb_s * lam["per_gb_second"],
        "dynamodb_reads": rru / 1e6 * ddb["per_million_read_request_units"],
        "dynamodb_writes": wru / 1e6 * ddb["per_million_write_request_units"],
        "step_functions": transitions / 1000 * p["step_functions_standard"]["per_thousand_state_transitions"],
    }


def stage1_monthly(p: dict) -> dict[str, float]:
    hours = p["hours_per_month"]
    return {"ec2": p["ec2"][f"{STAGE1['instance']}_per_hour"] * hours,
            "ebs": p["ebs_gp3_per_gb_month"] * STAGE1["ebs_gb"]}


def stage2_monthly(p: dict) -> dict[str, float]:
    hours, f = p["hours_per_month"], p["fargate"]
    fargate = sum(n * (cpu * f["per_vcpu_hour"] + gb * f["per_gb_hour"]) * hours
                  for n, cpu, gb in STAGE2_TASKS.values())
    rds = p["rds_postgresql"]
    alb = p["application_load_balancer"]
    return {"fargate": fargate,
            "rds": rds[f"{STAGE2_RDS['instance']}_per_hour"] * hours + rds["gp2_storage_per_gb_month"] * STAGE2_RDS["storage_gb"],
            "alb": (alb["per_hour"] + alb["per_lcu_hour"] * STAGE2_ALB_LCU) * hours}


def polling_vs_push(p: dict, per_million: float) -> dict:
    """One client for a month: polling GET /alerts at 1 Hz vs one open WebSocket (stage 3 prices)."""
    polls_per_min = 60
    polls = polls_per_min * SECONDS_PER_MONTH / 60
    ws = p["api_gateway"]
    connection_minutes = SECONDS_PER_MONTH / 60
    pushes = 1000  # alert messages a month per client, generous
    push_cost = (connection_minutes / 1e6 * ws["websocket_per_million_connection_minutes"]
                 + pushes / 1e6 * ws["websocket_per_million_messages"])
    return {"polling_requests_per_min": polls_per_min, "push_requests_per_min": 0,
            "push_messages_per_month_assumed": pushes,
            "polling_requests_per_month": int(polls), "polling_usd_per_client_month": round(polls / 1e6 * per_million, 2),
            "push_usd_per_client_month": round(push_cost, 4),
            "note": "polling also delays an alert by up to 1 s; push delivers it as it happens"}


def model(p: dict | None = None) -> dict:
    p = p or load_prices()
    s3 = stage3_per_million(p)
    per_million = sum(s3.values())
    s1, s2 = stage1_monthly(p), stage2_monthly(p)
    flat1, flat2 = sum(s1.values()), sum(s2.values())
    return {
        "prices_as_of": p["as_of"], "region": p["region"], "source": p["source"],
        "stage3_per_million": {k: round(v, 4) for k, v in s3.items()},
        "stage3_usd_per_million": round(per_million, 2),
        "stage1_monthly": {k: round(v, 2) for k, v in s1.items()},
        "stage2_monthly": {k: round(v, 2) for k, v in s2.items()},
        "monthly": {str(v): {"stage1": round(flat1, 2), "stage2": round(flat2, 2),
                             "stage3": round(per_million * v / 1e6, 2)} for v in VOLUMES},
        "break_even_requests_per_month": {
            "stage3_vs_stage1": int(math.ceil(flat1 / per_million * 1e6)),
            "stage3_vs_stage2": int(math.ceil(flat2 / per_million * 1e6))},
        "polling_vs_push": polling_vs_push(p, per_million),
        "capacity_note": CAPACITY_NOTE,
    }


def markdown(m: dict) -> str:
    lines = [f"Prices as of **{m['prices_as_of']}** ({m['region']}); {m['source']}", "",
             "| requests/month | stage 1 (one instance) | stage 2 (Fargate + RDS + ALB) | stage 3 (per request) |",
             "|---|---|---|---|"]
    for volume, row in m["monthly"].items():
        lines.append(f"| {int(volume):,} | ${row['stage1']:,.2f} | ${row['stage2']:,.2f} | ${row['stage3']:,.2f} |")
    be = m["break_even_requests_per_month"]
    pv = m["polling_vs_push"]
    lines += ["", f"Stage 3 costs **${m['stage3_usd_per_million']} per million requests** "
              f"({', '.join(f'{k} ${v}' for k, v in m['stage3_per_million'].items())}).",
              f"Break-even: stage 3 is cheaper than stage 1 below **{be['stage3_vs_stage1']:,}** requests/month "
              f"and cheaper than stage 2 below **{be['stage3_vs_stage2']:,}**.", "",
              f"Polling vs push, one client for a month on stage 3: polling at 1 Hz is "
              f"{pv['polling_requests_per_min']} requests/min ({pv['polling_requests_per_month']:,}/month, "
              f"**${pv['polling_usd_per_client_month']}**); push is {pv['push_requests_per_min']} requests/min, one "
              f"open WebSocket and {pv['push_messages_per_month_assumed']} messages (**${pv['push_usd_per_client_month']}**).",
              "", f"Capacity: {m['capacity_note']}"]
    return "\n".join(lines) + "\n"


def chart(m: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [0.1 * 10 ** (i / 20) for i in range(61)]  # 0.1M to 100M requests/month, log-spaced
    flat1 = m["monthly"][str(VOLUMES[0])]["stage1"]
    flat2 = m["monthly"][str(VOLUMES[0])]["stage2"]
    per = m["stage3_usd_per_million"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(xs, [flat1] * len(xs), label="stage 1: one instance")
    ax.plot(xs, [flat2] * len(xs), label="stage 2: Fargate + RDS + ALB")
    ax.plot(xs, [per * x for x in xs], label=f"stage 3: ${per}/million")
    for key, flat in (("stage3_vs_stage1", flat1), ("stage3_vs_stage2", flat2)):
        x = m["break_even_requests_per_month"][key] / 1e6
        ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        ax.annotate(f"{x:.1f}M", (x, flat), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("requests per month (millions)")
    ax.set_ylabel("USD per month")
    ax.set_title(f"Monthly cost by stage (list prices as of {m['prices_as_of']}, {m['region']})")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(out: Path) -> dict:
    m = model()
    out.mkdir(parents=True, exist_ok=True)
    (out / "cost.json").write_text(json.dumps(m, indent=2) + "\n")
    (out / "cost.md").write_text(markdown(m))
    chart(m, out / "cost.png")
    return m


if __name__ == "__main__":
    import sys
    print(markdown(write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "bench")))
