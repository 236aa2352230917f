"""Load generation in a separate process: wrk (C, Lua-scripted) or, without it, bench.client.

Both keep one keep-alive connection per simulated client, send the same POST bodies and
report the same figures, so the server never shares its event loop with the client.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MARKER = "BENCH_JSON "


@dataclass
class Target:
    """One kind of request: a fixed body, or `inviteMember` with a fresh email each time
    and the inviting owner rotated (invitations are capped per owner per hour)."""

    url: str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    invite_query: str | None = None
    invite_tokens: list[str] = field(default_factory=list)
    invite_tag: str = ""

    def spec(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadResult:
    client: str
    connections: int
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int  # including timeouts
    timeouts: int
    bytes_per_response: int
    # CPU time the server process spent per answer (set by the caller, who knows the pid):
    # steadier than wall time on a shared machine; PostgreSQL's own work is not in it.
    server_cpu_ms_per_request: float | None = None


def available_client(choice: str) -> str:
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and not shutil.which("wrk"):
        raise SystemExit("bench: wrk is not on PATH (apt-get install wrk), or use --client python")
    return choice


def run_load(
    target: Target, *, connections: int, duration: float, client: str, timeout: float = 30.0
) -> LoadResult:
    if client == "wrk":
        raw = _run_wrk(target, connections, duration, timeout)
    else:
        raw = _run_python(target, connections, duration, timeout)
    requests = max(int(raw["requests"]), 0)
    seconds = raw["duration_us"] / 1e6
    return LoadResult(
        client=client, connections=connections, requests=requests, seconds=round(seconds, 3),
        requests_per_s=round(requests / seconds, 2) if seconds else 0.0,
        p50_ms=round(raw["p50"] / 1000, 2), p95_ms=round(raw["p95"] / 1000, 2),
        p99_ms=round(raw["p99"] / 1000, 2), mean_ms=round(raw["mean"] / 1000, 2),
        max_ms=round(raw["max"] / 1000, 2),
        errors=int(raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]
                   + raw["status_errors"] + raw["timeouts"] + raw["bad"]),
        timeouts=int(raw["timeouts"]),
        bytes_per_response=int(raw["bytes"] / requests) if requests else 0,
    )  # fmt: skip


def _parse(output: str) -> dict[str, float]:
    for line in output.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise RuntimeError(f"load generator printed no result:\n{output[-2000:]}")


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk_script(target: Target) -> str:
    path = urlsplit(target.url).path
    lines = ["local threads = {}", "function setup(thread)", "  table.insert(threads, thread)",
             "  thread:set('tid', #threads)", "end", "bad = 0"]  # fmt: skip
    if target.invite_query is None:
        lines.append('wrk.method = "POST"')
        lines.append(f"wrk.body = {_lua_string(target.body)}")
        for name, value in {"Content-Type": "application/json", **target.headers}.items():
            lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    else:
        tokens = ", ".join(_lua_string(t) for t in target.invite_tokens)
        query = json.dumps(target.invite_query)
        lines += [
            f"local tokens = {{{tokens}}}",
            "local counter = 0",
            "function request()",
            "  counter = counter + 1",
            "  local token = tokens[(counter + tid * 7) % #tokens + 1]",
            f"  local body = string.format('{{\"query\":%s,\"variables\":{{\"email\":"
            f"\"inv-{target.invite_tag}-%d-%d@invite.example\"}}}}', {_lua_string(query)}, tid, counter)",
            f"  return wrk.format('POST', {_lua_string(path)}, {{['Content-Type'] = "
            "'application/json', ['Authorization'] = 'Bearer ' .. token}, body)",
            "end",
            "function response(status, headers, body)",
            "  if status ~= 200 or not (string.find(body, '\"errors\":[]', 1, true)",
            "                           or string.find(body, '\"errors\": []', 1, true)) then",
            "    bad = bad + 1",
            "  end",
            "end",
        ]  # fmt: skip
    lines += [
        "function done(summary, latency, requests)",
        "  local bad_total = 0",
        "  for _, t in ipairs(threads) do bad_total = bad_total + (t:get('bad') or 0) end",
        "  local e = summary.errors",
        f"  io.write(string.format('{MARKER}{{\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,"
        '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,'
        '"timeouts":%d,"bad":%d,"p50":%f,"p95":%f,"p99":%f,"max":%f,"mean":%f}\\n\', '
        "summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, "
        "e.status, e.timeout, bad_total, latency:percentile(50), latency:percentile(95), "
        "latency:percentile(99), latency.max, latency.mean))",
        "end",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _run_wrk(target: Target, connections: int, duration: float, timeout: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_wrk_script(target))
    try:
        threads = min(connections, 2)
        seconds = max(1, math.ceil(duration))
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                   f"--timeout={int(timeout)}s", "-s", script.name, target.url]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + timeout + 30
        )
        return _parse(done.stdout + done.stderr)
    finally:
        os.unlink(script.name)


def _run_python(
    target: Target, connections: int, duration: float, timeout: float
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump(target.spec(), spec)
    try:
        command = [sys.executable, "-m", "bench.client", spec.name, "--connections",
                   str(connections), "--duration", str(duration), "--timeout", str(timeout)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout + 30,
                              cwd=Path(__file__).resolve().parents[1])  # fmt: skip
        return _parse(done.stdout + done.stderr)
    finally:
        os.unlink(spec.name)
