"""The fallback load generator (`python -m bench.client SPEC.json`): asyncio, one keep-alive
HTTP/1.1 connection per client, in its own process. Prints the same figures as the wrk
script. Used when wrk is not installed; it is slower than wrk, so fast floors read lower."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

MARKER = "BENCH_JSON "


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.bytes = 0
        self.status_errors = 0
        self.bad = 0
        self.read_errors = 0
        self.timeouts = 0


def _request(spec: dict[str, Any], host: str, path: str, worker: int, n: int) -> bytes:
    headers = {"Content-Type": "application/json", **spec["headers"]}
    if spec["invite_query"] is None:
        body = spec["body"].encode()
    else:
        tokens = spec["invite_tokens"]
        headers["Authorization"] = f"Bearer {tokens[(n + worker * 7) % len(tokens)]}"
        email = f"inv-{spec['invite_tag']}-{worker}-{n}@invite.example"
        body = json.dumps({"query": spec["invite_query"], "variables": {"email": email}}).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, int, bool]:
    """Status, body, bytes read and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(c[:-2] for c in chunks)
    else:
        body = b""
    return status, body, len(head) + len(body), headers.get("connection") != "close"


def _refused(body: bytes) -> bool:
    return not (b'"errors":[]' in body or b'"errors": []' in body)


async def _client(spec: dict[str, Any], worker: int, deadline: float, read_timeout: float,
                  stats: Stats) -> None:  # fmt: skip
    """One simulated client: requests back to back, reconnecting (like wrk) when the
    server closes the connection."""
    url = urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    n = 0
    while time.perf_counter() < deadline:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            keep_alive, fresh = True, True
            while keep_alive and time.perf_counter() < deadline:
                n += 1
                data = _request(spec, f"{host}:{port}", url.path, worker, n)
                started = time.perf_counter()
                writer.write(data)
                try:
                    answer = await asyncio.wait_for(_read_response(reader), read_timeout)
                except TimeoutError:
                    stats.timeouts += 1
                    break
                except (asyncio.IncompleteReadError, ConnectionError) as closed:
                    # A connection the server closed after an answer (an error answer, say)
                    # is retried on a new one; a fresh one failing, or a half-read answer,
                    # is an error.
                    partial = isinstance(closed, asyncio.IncompleteReadError) and closed.partial
                    stats.read_errors += bool(fresh or partial)
                    break
                fresh = False
                status, body, size, keep_alive = answer
                stats.latencies.append(time.perf_counter() - started)
                stats.bytes += size
                if status >= 400:
                    stats.status_errors += 1
                elif spec["invite_query"] is not None and _refused(body):
                    stats.bad += 1
        finally:
            writer.close()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))
    return values[index]


async def _main(
    spec: dict[str, Any], connections: int, duration: float, read_timeout: float
) -> None:
    stats = Stats()
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(_client(spec, w, deadline, read_timeout, stats) for w in range(connections))
    )
    elapsed = time.perf_counter() - started
    lat = sorted(x * 1e6 for x in stats.latencies)
    result = {
        "requests": len(lat), "duration_us": elapsed * 1e6, "bytes": stats.bytes,
        "connect_errors": 0, "read_errors": stats.read_errors, "write_errors": 0,
        "status_errors": stats.status_errors, "timeouts": stats.timeouts, "bad": stats.bad,
        "p50": _percentile(lat, 50), "p95": _percentile(lat, 95), "p99": _percentile(lat, 99),
        "max": lat[-1] if lat else 0.0, "mean": sum(lat) / len(lat) if lat else 0.0,
    }  # fmt: skip
    print(MARKER + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_main(spec, args.connections, args.duration, args.timeout))


if __name__ == "__main__":
    main()
