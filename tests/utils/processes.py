"""Real `collab` processes for the tests that need separate gateways or a browser."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx
from redis import Redis

REPO = Path(__file__).resolve().parents[2]
# `python -m collab.cli` is the `collab` command, with this checkout first on sys.path.
COLLAB = [sys.executable, "-m", "collab.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    args: Sequence[str], env: Mapping[str, str], log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    output = log if log is not None else subprocess.DEVNULL
    return subprocess.Popen(
        [*COLLAB, *args], env=dict(env), cwd=REPO, stdout=output, stderr=subprocess.STDOUT
    )


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes], log_path: Path | None = None, timeout: float = 30
) -> None:
    def log() -> str:
        return log_path.read_text() if log_path is not None else "(no log)"

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} exited early:\n{log()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not start within {timeout} s:\n{log()}")


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def forget_redis_prefix(redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
