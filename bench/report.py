"""The bench's printed table and its plot of dashboard latency against size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {
    "dashboard_cold": "dashboard, cold (ours)",
    "graphql_core_floor": "graphql-core floor",
    "dashboard_warm": "dashboard, warm (ours)",
    "bare_starlette_floor": "bare Starlette floor",
    "members": "members with shares (owner)",
    "environments": "environments + myPolicies + guarded",
    "dashboard_20_owners": "dashboard, member of 20 owners",
    "invite_member": "inviteMember",
}
TARGETS = {
    "cold_sequential_vs_graphql_core": ("<=", 1.2),
    "warm_rps_vs_bare_starlette_rps": (">=", 0.25),
    "warm_p95_ms": ("<", 50.0),
}
# The workers' targets: (the figure in a scenario's result, the bound).
WORKER_TARGETS = {
    "fanout": ("ratio", ">=", 0.8),
    "fanout_pipelining": ("ratio", ">=", 0.8),
    "trial_expiry": ("status_seconds", "<", 5.0),
}


def _verdict(name: str, value: float | None) -> str:
    if name not in TARGETS or value is None:
        return ""
    return _against(value, *TARGETS[name])


def _worker_verdict(name: str, result: dict[str, Any]) -> str:
    if name not in WORKER_TARGETS:
        return ""
    figure, op, bound = WORKER_TARGETS[name]
    value = result.get(figure)
    return "" if value is None else f" {figure} {value}" + _against(value, op, bound)


def _against(value: float, op: str, bound: float) -> str:
    met = value <= bound if op == "<=" else value >= bound if op == ">=" else value < bound
    return f"  (target {op} {bound}: {'met' if met else 'NOT met'})"


def print_report(results: dict[str, Any]) -> None:
    meta = results["meta"]
    print(f"\ncollab-gateway bench: {meta['connections']} clients, {meta['duration_s']:g} s runs, "
          f"{meta['rounds']} round(s), load by {meta['client']}, {meta['cpus']} CPUs")  # fmt: skip
    if "email_latency" in results:
        print(f"invitation email latency: {results['email_latency']}")
    for key, size in results["sizes"].items():
        print(
            f"\n== {key} environments (dashboard response {size['response_bytes'] / 1024:.0f} KiB)"
        )
        print(
            f"{'scenario':<38}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'errors':>8}{'timeouts':>9}{'cpu ms/req':>12}"
        )
        for name, r in size["concurrent"].items():
            print(f"{LABELS.get(name, name):<38}{r['requests_per_s']:>10.1f}{r['p50_ms']:>10.1f}"
                  f"{r['p95_ms']:>10.1f}{r['p99_ms']:>10.1f}{r['errors']:>8}{r.get('timeouts', 0):>9}"
                  f"{r.get('server_cpu_ms_per_request') or 0:>12.1f}")  # fmt: skip
        seq = size["sequential"]
        print("one request at a time, p50 ms (server CPU ms): " + ", ".join(
            f"{LABELS.get(n, n)} {r['p50_ms']:.1f}"
            + (f" ({r['server_cpu_ms_per_request']})" if r.get("server_cpu_ms_per_request") else "")
            for n, r in seq.items()))  # fmt: skip
        for name, value in size["ratios"].items():
            print(f"  {name:<44} {value}{_verdict(name, value)}")
        print(f"  SQL statements per request: {size['statements']}")
        for name, value in size.get("workers", {}).items():
            print(f"  {name}: {value}")
            if verdict := _worker_verdict(name, value):
                print(f"  {name}:{verdict}")
        for name, profile in size.get("profiles", {}).items():
            if "error" in profile:
                print(f"  profile {name}: {profile['error']}")
                continue
            print(f"  profile {name} ({profile['samples']} samples, {profile['stacks']}), "
                  "most samples on top of the stack:")  # fmt: skip
            for function, percent in profile["self_percent"][:8]:
                print(f"    {percent:5.1f} %  {function}")
    counts = [tuple(s["statements"].values()) for s in results["sizes"].values()]
    if len(counts) > 1:
        same = len(set(counts)) == 1
        print(f"\nSQL statements constant across sizes: {'yes' if same else 'NO (N+1?)'}")


def write_plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [int(k) for k in results["sizes"]]
    rows = list(results["sizes"].values())
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name in ("dashboard_cold", "dashboard_warm", "graphql_core_floor", "bare_starlette_floor"):
        style = "-o" if name.startswith("dashboard") else "--s"
        left.plot(sizes, [r["sequential"][name]["p50_ms"] for r in rows], style, label=LABELS[name])
        right.plot(
            sizes, [r["concurrent"][name]["p95_ms"] for r in rows], style, label=LABELS[name]
        )
    left.plot(sizes, [r["sequential"]["graphql_core_in_process"]["p50_ms"] for r in rows], ":x",
              color="grey", label="graphql-core in process")  # fmt: skip
    meta = results["meta"]
    left.set_title("one request at a time: p50")
    right.set_title(f"{meta['connections']} concurrent clients: p95")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("environments shared with the member")
        axis.set_ylabel("latency (ms)")
        axis.grid(True, which="both", alpha=0.3)
        axis.set_xticks(sizes, [str(s) for s in sizes])
    left.legend(fontsize=8)
    fig.suptitle(f"Dashboard (sharedWithMe) latency, PostgreSQL, {meta['cpus']} CPUs, "
                 f"{meta['started_at'][:10]}")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict[str, Any]) -> str:
    """The figures as Markdown tables, for bench/README.md (`python -m bench.report`)."""
    meta, sizes = results["meta"], results["sizes"]
    lines = [
        f"Run of {meta['started_at']} on {meta['cpus']} CPUs, PostgreSQL, one gateway process, "
        f"{meta['connections']} clients, load by {meta['client']}, {meta['rounds']} round(s) "
        "(medians).",
        "",
        "| environments | response | ours cold, 1 at a time (p50) | graphql-core floor, 1 at a "
        "time (HTTP / in process) | cold ÷ floor | ours cold req/s | graphql-core req/s | "
        "ours warm req/s | bare Starlette req/s | warm ÷ bare | warm p95 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, s in sizes.items():
        seq, conc, ratios = s["sequential"], s["concurrent"], s["ratios"]
        lines.append(
            f"| {int(key):,} | {s['response_bytes'] / 1024:.0f} KiB "
            f"| {seq['dashboard_cold']['p50_ms']:.0f} ms "
            f"| {seq['graphql_core_floor']['p50_ms']:.0f} / "
            f"{seq['graphql_core_in_process']['p50_ms']:.0f} ms "
            f"| {ratios['cold_sequential_vs_graphql_core']} "
            f"(CPU {ratios.get('cold_cpu_vs_graphql_core_cpu')}) "
            f"| {conc['dashboard_cold']['requests_per_s']:.1f} "
            f"| {conc['graphql_core_floor']['requests_per_s']:.1f} "
            f"| {conc['dashboard_warm']['requests_per_s']:.1f} "
            f"| {conc['bare_starlette_floor']['requests_per_s']:,.0f} "
            f"| {ratios['warm_rps_vs_bare_starlette_rps']} "
            f"(CPU {ratios.get('warm_cpu_vs_bare_starlette_cpu')}) "
            f"| {conc['dashboard_warm']['p95_ms']:,.0f} ms |"
        )
    lines += ["", f"Every scenario at {meta['connections']} clients (requests/s; p50 / p95 / p99 "
              "in ms; errors include timeouts):", "",
              "| scenario | " + " | ".join(f"{int(k):,} environments" for k in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]  # fmt: skip
    for name, label in LABELS.items():
        cells = []
        for s in sizes.values():
            r = s["concurrent"][name]
            cells.append(f"{r['requests_per_s']:,.1f} req/s; {r['p50_ms']:,.0f} / {r['p95_ms']:,.0f} "
                         f"/ {r['p99_ms']:,.0f}" + (f"; {r['errors']} errors" if r["errors"] else ""))  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "SQL statements per request (in process):", "",
              "| query | " + " | ".join(f"{int(k):,}" for k in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]  # fmt: skip
    for query in next(iter(sizes.values()))["statements"]:
        lines.append(
            f"| {query} | " + " | ".join(str(s["statements"][query]) for s in sizes.values()) + " |"
        )
    if "email_latency" in results:
        e = results["email_latency"]
        lines += ["", f"Invitation email, `inviteMember` answer to SMTP: {e.get('arrived')}/{e['sent']} "
                  f"arrived, p50 {e.get('p50_ms')} ms, p95 {e.get('p95_ms')} ms, max {e.get('max_ms')} ms "
                  "(target: within 2,000 ms)."]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # python -m bench.report [results.json] [--plot out.png]: tables (and plot) again.
    import json
    import sys

    argv = sys.argv[1:]
    plot = Path(argv.pop(argv.index("--plot") + 1)) if "--plot" in argv else None
    argv = [a for a in argv if a != "--plot"]
    source = Path(argv[0]) if argv else Path(__file__).parent / "results.json"
    results = json.loads(source.read_text())
    print(markdown(results), end="")
    if plot is not None:
        write_plot(results, plot)
