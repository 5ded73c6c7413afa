"""`python -m bench.report [results.json] [out dir]`: the Markdown table, the targets and PNG charts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGETS = ("stage1", "stage2", "stage2_direct", "stage3")
LABELS = {"stage1": "stage 1", "stage2": "stage 2 via Envoy", "stage2_direct": "stage 2 direct",
          "stage3": "stage 3 (local)", "baseline": "baseline"}


def _get(results: dict, target: str, *path):
    node = results.get(target)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _rps_p50(r: dict | None) -> str:
    if not r:
        return "–"
    errors = f", {r['errors']} errors" if r.get("errors") else ""
    return f"{r['rps']:.0f} ({r['p50_ms']:.1f} ms{errors})"


def table(results: dict) -> str:
    rows = [
        ("GET /devices/{id}, 1 client: req/s (p50)", lambda t: _rps_p50(_get(results, t, "get_by_id_c1"))),
        ("GET /devices/{id}, 16 clients: req/s (p50)", lambda t: _rps_p50(_get(results, t, "get_by_id_c16"))),
        ("GET a readings page (cursor), 16 clients", lambda t: _rps_p50(_get(results, t, "list_page_c16"))),
        ("POST 1 reading, 16 clients: req/s (p50)", lambda t: _rps_p50(_get(results, t, "post_1_c16"))),
        ("POST 500 readings, 1 client: p50 / p95", lambda t: (
            f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms" if (r := _get(results, t, "post_500_c1")) else "–")),
        ("mixed (4 GET : 1 POST), 16 clients", lambda t: _rps_p50(_get(results, t, "mixed_c16"))),
        ("push latency, 4 clients: p50 / p99 / max", lambda t: (
            f"{r['p50_ms']} / {r['p99_ms']} / {r['max_ms']} ms" if (r := _get(results, t, "push_latency_c4")) else "–")),
        ("16 clients mixed + pushes: req/s, errors, lost/expected", lambda t: (
            f"{r['rps']}, {r['errors']}, {r['lost_pushes']}/{r['expected_pushes']}"
            if (r := _get(results, t, "push_mixed_c16")) else "–")),
        ("  …its push p50 / p99", lambda t: (
            f"{r['p50_ms']} / {r['p99_ms']} ms" if (r := _get(results, t, "push_mixed_c16")) else "–")),
    ]
    present = [t for t in TARGETS if t in results]
    lines = ["| | " + " | ".join(LABELS[t] for t in present) + " |", "|---" * (len(present) + 1) + "|"]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(t) for t in present) + " |")
    base = results.get("baseline")
    if base:
        lines += ["", "Baselines (same gunicorn setup as stage 1: 1 gthread worker, 64 threads):", "",
                  "| | 1 client | 16 clients |", "|---|---|---|"]
        for route, label in (("plain", "bare Flask + sqlite3 PK lookup"), ("jwt", "+ PyJWT RS256 verify")):
            lines.append(f"| {label} | {_rps_p50(base.get(f'{route}_get_c1'))} | {_rps_p50(base.get(f'{route}_get_c16'))} |")
    cw = _get(results, "stage3", "cold_vs_warm")
    if cw:
        lines += ["", f"Stage 3 cold vs warm (GET by id after the functions' workers were replaced, "
                      f"{cw['rounds']} rounds): cold median **{cw['cold_median_ms']} ms** "
                      f"(all: {cw['cold_ms']}), warm median **{cw['warm_median_ms']} ms**."]
    restart = results.get("restart")
    if restart:
        lines += ["", "Second start of each stage (caches warm) to its first authenticated GET by id:", ""]
        for stage, r in restart.items():
            lines.append(f"- {stage}: ready line after {r['ready_s']} s, first GET by id {r['first_get_ms']} ms")
    return "\n".join(lines) + "\n"


def targets(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """(target, required, measured, met) for every target of the issue that a run measures."""
    out = []

    def add(name, required, measured, met):
        out.append((name, required, measured, met))

    s1, base = _get(results, "stage1", "get_by_id_c16"), _get(results, "baseline", "jwt_get_c16")
    if s1 and base:
        ratio = s1["rps"] / base["rps"]
        add("stage 1 GET by id vs Flask+PyJWT+sqlite3, 16 clients", "≥ 0.80×", f"{ratio:.2f}× ({s1['rps']} vs {base['rps']} req/s)", ratio >= 0.8)
    r = _get(results, "stage1", "post_500_c1")
    if r:
        add("stage 1 POST of 500 readings p50", "≤ 40 ms", f"{r['p50_ms']:.0f} ms", r["p50_ms"] <= 40)
    via, direct = _get(results, "stage2", "get_by_id_c1"), _get(results, "stage2_direct", "get_by_id_c1")
    if via and direct:
        extra = via["p50_ms"] - direct["p50_ms"]
        add("Envoy overhead, 1 client, p50", "≤ +0.5 ms", f"{extra:+.2f} ms ({via['p50_ms']:.2f} vs {direct['p50_ms']:.2f})", extra <= 0.5)
    via, direct = _get(results, "stage2", "get_by_id_c16"), _get(results, "stage2_direct", "get_by_id_c16")
    if via and direct:
        loss = 1 - via["rps"] / direct["rps"]
        add("Envoy overhead, 16 clients, throughput", "≤ 15%", f"{loss:.0%} ({via['rps']} vs {direct['rps']} req/s)", loss <= 0.15)
    m = _get(results, "stage3", "push_mixed_c16")
    if m:
        add("stage 3, 16 clients: errors and lost pushes", "0 and 0",
            f"{m['errors']} and {m['lost_pushes']} ({m['seconds']:.0f} s)", m["errors"] == 0 and m["lost_pushes"] == 0)
        if m["p99_ms"] is not None:
            add("stage 3, 16 clients: push p99", "≤ 500 ms", f"{m['p99_ms']} ms", m["p99_ms"] <= 500)
    one, sixteen = _get(results, "stage3", "get_by_id_c1"), _get(results, "stage3", "get_by_id_c16")
    if one and sixteen:
        add("stage 3 throughput 16 clients ≥ 1 client", "≥", f"{sixteen['rps']} vs {one['rps']} req/s", sixteen["rps"] >= one["rps"])
    for stage, limit in (("stage1", 25), ("stage2", 50), ("stage3", 250)):
        p = _get(results, stage, "push_latency_c4")
        if p and p["p50_ms"] is not None:
            add(f"{LABELS[stage]} push p50 (p99 reported)", f"≤ {limit} ms", f"{p['p50_ms']} ms (p99 {p['p99_ms']})", p["p50_ms"] <= limit)
    for stage, limit in (("stage1", 2), ("stage2", 8), ("stage3", 10)):
        r = _get(results, "restart", stage)
        if r:
            total = r["ready_s"] + r["first_get_ms"] / 1000
            add(f"second `make {stage}` to a warm first request", f"≤ {limit} s", f"{total:.1f} s", total <= limit)
    return out


def targets_table(results: dict) -> str:
    lines = ["| target | required | measured | met |", "|---|---|---|---|"]
    for name, required, measured, met in targets(results):
        lines.append(f"| {name} | {required} | {measured} | {'yes' if met else 'no'} |")
    return "\n".join(lines) + "\n"


def charts(results: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [t for t in TARGETS if t in results]
    profiles = ["get_by_id_c1", "get_by_id_c16", "list_page_c16", "post_1_c16", "mixed_c16"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(present))
    for i, t in enumerate(present):
        values = [(_get(results, t, p) or {}).get("rps", 0) for p in profiles]
        ax.bar([x + i * width for x in range(len(profiles))], values, width, label=LABELS[t])
    ax.set_xticks([x + width * (len(present) - 1) / 2 for x in range(len(profiles))], profiles, fontsize=8)
    ax.set_ylabel("requests/s")
    ax.set_title("Throughput by profile (wrk, closed loop, same machine)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)

    present = [t for t in present if _get(results, t, "push_latency_c4")]
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (key, label) in enumerate((("push_latency_c4", "4 clients, one crossing in flight"),
                                      ("push_mixed_c16", "16 clients, mixed load"))):
        p50 = [(_get(results, t, key) or {}).get("p50_ms") or 0 for t in present]
        p99 = [(_get(results, t, key) or {}).get("p99_ms") or 0 for t in present]
        xs = [x + i * 0.4 for x in range(len(present))]
        ax.bar(xs, p99, 0.38, alpha=0.35, color=f"C{i}")
        ax.bar(xs, p50, 0.38, label=f"{label}: p50 (solid), p99 (light)", color=f"C{i}")
    ax.set_yscale("log")
    ax.set_xticks([x + 0.2 for x in range(len(present))], [LABELS[t] for t in present], fontsize=8)
    ax.set_ylabel("202 → WebSocket message (ms)")
    ax.set_title("Push latency")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "push.png", dpi=110)
    plt.close(fig)


def write(results_path: Path, out: Path, with_charts: bool = True) -> str:
    results = json.loads(results_path.read_text())
    meta = results.get("meta", {})
    text = (f"# Benchmark results ({'smoke run' if meta.get('smoke') else 'full run'}, {meta.get('date')})\n\n"
            f"{meta.get('cpus')} CPUs, {meta.get('seconds')} s per profile after a {meta.get('warmup_s')} s warm-up; "
            f"load average {meta.get('loadavg_before', 0):.1f} before, {meta.get('loadavg_after', 0):.1f} after "
            f"(the machine is shared: compare columns of one run, not runs).\n\n"
            + table(results) + "\n## Targets\n\n" + targets_table(results))
    name = "smoke-results.md" if meta.get("smoke") else "results.md"
    (out / name).write_text(text)
    if with_charts and not meta.get("smoke"):
        charts(results, out)
    return text


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "bench" / "results.json"
    print(write(path, Path(sys.argv[2]) if len(sys.argv) > 2 else path.parent))
