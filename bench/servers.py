"""The processes under test: `collab serve` (ours) and the floors, each one uvicorn process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A uvicorn subprocess on a free loopback port, stopped on exit."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115 (lives as long as the server)
        self.process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.tail()}"
                )
            try:
                if httpx.get(self.base_url + path, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Until the requests a finished run left in flight are done: the next run must not
        pay for them. Idle: under 5 % of a core over 0.2 s."""
        if not Path(f"/proc/{self.process.pid}/stat").exists():
            time.sleep(1.0)
            return
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.cpu_seconds()
            if now - before < 0.01:
                return
            before = now

    def tail(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


def start_gateway(name: str, database_url: str, redis_url: str, prefix: str,
                  cache: bool) -> Server:  # fmt: skip
    port = free_port()
    env = {
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix,
        "RESPONSE_CACHE_ENABLED": "true" if cache else "false", "ENVIRONMENT": "development",
    }  # fmt: skip
    command = [sys.executable, "-m", "collab.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log"]  # fmt: skip
    return Server(name, command, env, port)  # the caller waits for /readyz


def start_floors(data_path: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.floors:app", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    server = Server("floors", command, {"BENCH_FLOOR_DATA": data_path}, port)
    server.wait_ready("/")
    return server
