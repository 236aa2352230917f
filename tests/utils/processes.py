"""Real `collab` processes for the tests that need separate gateways or a browser."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from redis import Redis

from tests.utils import databases

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
        time.sleep(0.05)  # a refused connection answers at once: polling costs nothing
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
        keys = list(client.scan_iter(f"{prefix}:*", count=10_000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@dataclass
class Gateways:
    """`collab serve` processes (and maybe a worker) sharing one database and Redis prefix."""

    urls: list[str]
    database_url: str
    redis_url: str
    prefix: str

    @property
    def channel(self) -> str:
        """The Redis pub/sub channel of live events."""
        return f"{self.prefix}:events"


@contextlib.contextmanager
def gateways(
    redis_url: str, directory: Path, count: int = 2, *, worker: bool = False, **env: str
) -> Iterator[Gateways]:
    """`count` gateways on one freshly migrated database: PostgreSQL when it is up (as in
    production), a SQLite file otherwise; `env` adds settings. Started at once, stopped and
    cleaned up (database, Redis keys) at the end."""
    pg_name = None
    with socket.socket() as sock:
        sock.settimeout(0.5)
        postgres_up = sock.connect_ex(("127.0.0.1", 5432)) == 0
    if postgres_up:
        pg_name, database_url = databases.create_postgres_database()
    else:
        database_url = databases.sqlite_url(directory)
    prefix = f"collab-test:{uuid.uuid4().hex[:12]}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        databases.migrate(database_url)
        settings = {
            **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix, "ENVIRONMENT": "development",
            "SMTP_PORT": str(free_port()), "PUBLIC_URL": "http://collab.test", **env,
        }  # fmt: skip
        ports = [free_port() for _ in range(count)]
        logs = [directory / f"gateway-{i}.log" for i in range(count)]
        for port, log_path in zip(ports, logs, strict=True):
            with log_path.open("wb") as log:
                procs.append(start(["serve", "--port", str(port)], settings, log))
        if worker:
            with (directory / "worker.log").open("wb") as log:
                procs.append(start(["worker"], settings, log))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, proc, log_path in zip(urls, procs, logs, strict=False):
            wait_until_up(url, proc, log_path)
        yield Gateways(urls, database_url, redis_url, prefix)
    finally:
        stop(procs)
        forget_redis_prefix(redis_url, prefix)
        if pg_name:
            databases.drop_postgres_database(pg_name)
