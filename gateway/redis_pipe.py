"""One pipelined Redis connection for the hit path's script calls.

Profiled under 16 clients, a cached answer spent about a third of its time in redis-py
around one `EVALSHA`: taking a pooled connection (which probes the socket), the retry
wrapper, packing, and one `send` and one `recv` system call per command. Here every
command goes out on one connection, commands issued in the same turn of the event loop
leave in one write, and replies (parsed by hiredis, in order) come back in one read.

Failures are redis-py's exceptions (`ConnectionError`, `TimeoutError`, `ResponseError`),
so callers treat them as they treat redis-py's: the hit path falls back to the normal one.
A reply that takes longer than `timeout` seconds drops the connection and fails every
command waiting on it; the next command connects again. TLS URLs (`rediss://`) are not
supported here: `PipelinedRedis.supports(url)` says so, and the caller then uses redis-py.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import time
from typing import Any

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


def _command(*parts: str | bytes | int) -> bytes:
    chunks = [b"*%d\r\n" % len(parts)]
    for part in parts:
        if isinstance(part, int):
            part = b"%d" % part
        elif isinstance(part, str):
            part = part.encode()
        chunks.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(chunks)


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: PipelinedRedis) -> None:
        self.owner = owner
        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        pending = self.owner.pending
        while (reply := self.reader.gets()) is not False:
            if not pending:
                break  # not ours: the connection is about to be dropped anyway
            future, _ = pending.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                text = str(reply)
                error = NoScriptError if text.startswith("NOSCRIPT") else ResponseError
                future.set_exception(error(text))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.lost(self, exc)


class PipelinedRedis:
    def __init__(self, url: str, timeout: float = 2.0, connect_timeout: float = 1.0) -> None:
        self.options = parse_url(url)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.pending: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._outgoing: list[bytes] = []
        self._flush_scheduled = False
        self._watchdog: asyncio.TimerHandle | None = None
        self._closed = False

    @staticmethod
    def supports(url: str) -> bool:
        return parse_url(url).get("connection_class") is not SSLConnection

    async def evalsha(self, script: str, keys: list[str], args: list[str | bytes | int]) -> Any:
        """Runs a Lua script by its SHA-1, loading it with EVAL when Redis lacks it."""
        sha = _sha(script)
        try:
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.execute("EVAL", script, len(keys), *keys, *args)

    async def execute(self, *parts: str | bytes | int) -> Any:
        protocol = self._protocol or await self._connect()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._send(protocol, _command(*parts), future)
        return await future

    def _send(self, protocol: _Protocol, command: bytes, future: asyncio.Future[Any]) -> None:
        self.pending.append((future, time.monotonic()))
        self._outgoing.append(command)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        protocol, data = self._protocol, b"".join(self._outgoing)
        self._outgoing.clear()
        if protocol is None or protocol.transport is None:
            return  # lost meanwhile: its commands were failed already
        protocol.transport.write(data)
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(self.timeout, self._check)

    def _check(self) -> None:
        """Drops a connection whose oldest reply is overdue (a hung or partitioned Redis)."""
        self._watchdog = None
        if not self.pending:
            return
        overdue = time.monotonic() - self.pending[0][1] - self.timeout
        if overdue >= 0 and self._protocol is not None and self._protocol.transport is not None:
            self._fail_all(RedisTimeoutError("Timeout reading from Redis"))
            self._protocol.transport.abort()
            self._protocol = None
            return
        delay = max(0.05, -overdue)
        self._watchdog = asyncio.get_running_loop().call_later(delay, self._check)

    async def _connect(self) -> _Protocol:
        if self._closed:
            raise RedisConnectionError("closed")
        if self._connecting is not None:
            return await asyncio.shield(self._connecting)
        loop = asyncio.get_running_loop()
        self._connecting = loop.create_future()
        try:
            protocol = await self._open(loop)
        except Exception as exc:
            self._drop()  # half-open (say, refused by AUTH): never lent out
            error = RedisConnectionError(f"Error connecting to Redis: {exc}")
            self._connecting.set_exception(error)
            self._connecting.exception()  # retrieved: waiters get it through shield
            self._connecting = None
            raise error from exc
        self._connecting.set_result(protocol)
        self._connecting = None
        return protocol

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Protocol:
        options = self.options
        async with asyncio.timeout(self.connect_timeout):
            if "path" in options:
                _, protocol = await loop.create_unix_connection(
                    lambda: _Protocol(self), options["path"]
                )
            else:
                _, protocol = await loop.create_connection(
                    lambda: _Protocol(self), options.get("host", "localhost"),
                    options.get("port", 6379),
                )  # fmt: skip
            self._protocol = protocol
            hello: list[asyncio.Future[Any]] = []
            if options.get("password"):
                auth = [options["username"]] if options.get("username") else []
                hello.append(self._hello(protocol, "AUTH", *auth, options["password"]))
            if options.get("db"):
                hello.append(self._hello(protocol, "SELECT", int(options["db"])))
            for answer in hello:
                await answer
        return protocol

    def _hello(self, protocol: _Protocol, *parts: str | int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._send(protocol, _command(*parts), future)
        return future

    def _drop(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abort()

    def lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if self._protocol is protocol:
            self._protocol = None
        self._fail_all(RedisConnectionError(f"Connection to Redis lost: {exc or 'closed'}"))

    def _fail_all(self, error: Exception) -> None:
        while self.pending:
            future, _ = self.pending.popleft()
            if not future.done():
                future.set_exception(error)
        self._outgoing.clear()

    async def aclose(self) -> None:
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None


_SHAS: dict[str, str] = {}


def _sha(script: str) -> str:
    sha = _SHAS.get(script)
    if sha is None:
        sha = _SHAS[script] = hashlib.sha1(
            script.encode()
        ).hexdigest()  # Redis names scripts by SHA-1
    return sha
