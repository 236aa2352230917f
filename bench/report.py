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


def _verdict(name: str, value: float | None) -> str:
    if name not in TARGETS or value is None:
        return ""
    op, bound = TARGETS[name]
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
            f"{'scenario':<38}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'errors':>8}{'timeouts':>9}"
        )
        for name, r in size["concurrent"].items():
            print(f"{LABELS.get(name, name):<38}{r['requests_per_s']:>10.1f}{r['p50_ms']:>10.1f}"
                  f"{r['p95_ms']:>10.1f}{r['p99_ms']:>10.1f}{r['errors']:>8}{r.get('timeouts', 0):>9}")  # fmt: skip
        seq = size["sequential"]
        print("one request at a time, p50 ms: " + ", ".join(
            f"{LABELS.get(n, n)} {r['p50_ms']:.1f}" for n, r in seq.items()))  # fmt: skip
        for name, value in size["ratios"].items():
            print(f"  {name:<44} {value}{_verdict(name, value)}")
        print(f"  SQL statements per request: {size['statements']}")
        for name, value in size.get("workers", {}).items():
            print(f"  {name}: {value}")
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
    left.plot(sizes, [r["sequential"]["graphql_core_in_process"]["p50_ms"] for r in rows], ":",
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
