"""gateway.redis_pipe against real Redis servers: what redis-py would do for the hit path
(auth, database select, NOSCRIPT, time-outs, lost connections, restarts, slow replies),
so the hand-made client is held to the library's behaviour it replaces."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.redis_pipe import PipelinedRedis
from tests.utils.servers import PrivateRedis

ECHO = "return {KEYS[1], ARGV[1]}"


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(password="s3cret-" + uuid.uuid4().hex[:8])
    server.start()
    yield server
    server.close()


class Proxy:
    """A loopback TCP proxy in front of Redis whose replies can be held back (a Redis that
    stops answering) or cut off after some bytes (a connection dropped mid-reply)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.cut_after: int | None = None
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.target)

        async def requests() -> None:
            while data := await client_r.read(65536):
                upstream_w.write(data)
            upstream_w.close()

        async def replies() -> None:
            while data := await upstream_r.read(65536):
                await self.flowing.wait()
                if self.cut_after is not None:
                    client_w.write(data[: self.cut_after])
                    await client_w.drain()
                    client_w.transport.abort()
                    return
                client_w.write(data)
            client_w.close()

        with contextlib.suppress(Exception):
            await asyncio.gather(requests(), replies())

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[Proxy]:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    found = Proxy(port)
    await found.start()
    yield found
    await found.close()


async def test_it_logs_in_with_the_urls_password(private_redis: PrivateRedis) -> None:
    pipe = PipelinedRedis(private_redis.url)
    assert await pipe.execute("PING") == b"PONG"
    await pipe.aclose()
    wrong = PipelinedRedis(private_redis.url.replace(private_redis.password or "", "wrong"))
    with pytest.raises(RedisConnectionError):
        await wrong.execute("PING")
    await wrong.aclose()


async def test_it_selects_the_urls_database(private_redis: PrivateRedis) -> None:
    url = private_redis.url.replace("/0", "/3")
    pipe = PipelinedRedis(url)
    await pipe.execute("SET", "where", "three")
    await pipe.aclose()
    client = Redis.from_url(url)
    assert await client.get("where") == b"three"
    await client.aclose()
    zero = Redis.from_url(private_redis.url)
    assert await zero.get("where") is None
    await zero.aclose()


async def test_a_script_flushed_from_redis_is_loaded_again(private_redis: PrivateRedis) -> None:
    pipe = PipelinedRedis(private_redis.url)
    assert await pipe.evalsha(ECHO, ["k"], ["a"]) == [b"k", b"a"]
    await pipe.execute("SCRIPT", "FLUSH")
    assert await pipe.evalsha(ECHO, ["k"], ["b"]) == [b"k", b"b"]
    with pytest.raises(ResponseError):  # any other error is the caller's
        await pipe.execute("NOSUCHCOMMAND")
    assert await pipe.execute("PING") == b"PONG"  # and the connection goes on
    await pipe.aclose()


async def test_a_redis_that_stops_answering_times_out_and_the_next_call_reconnects(
    proxy: Proxy,
) -> None:
    pipe = PipelinedRedis(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.3)
    assert await pipe.execute("PING") == b"PONG"
    proxy.flowing.clear()
    started = asyncio.get_running_loop().time()
    with pytest.raises(RedisTimeoutError):
        await asyncio.gather(pipe.execute("PING"), pipe.execute("PING"))
    assert asyncio.get_running_loop().time() - started < 1.0
    proxy.flowing.set()
    assert await pipe.execute("PING") == b"PONG"
    await pipe.aclose()


async def test_a_connection_dropped_mid_reply_fails_the_call_and_recovers(proxy: Proxy) -> None:
    pipe = PipelinedRedis(f"redis://127.0.0.1:{proxy.port}/0", timeout=2)
    key = f"pipe-test:{uuid.uuid4().hex}"
    assert await pipe.execute("SET", key, "x" * 10_000) == b"OK"
    proxy.cut_after = 100  # the reply's first 100 bytes, then the connection goes
    with pytest.raises(RedisConnectionError):
        await pipe.execute("GET", key)
    proxy.cut_after = None
    assert await pipe.execute("GET", key) == b"x" * 10_000
    await pipe.execute("DEL", key)
    await pipe.aclose()


async def test_a_restarted_redis_is_reached_again(private_redis: PrivateRedis) -> None:
    pipe = PipelinedRedis(private_redis.url, timeout=1)
    assert await pipe.execute("PING") == b"PONG"
    private_redis.stop()
    with pytest.raises((RedisConnectionError, RedisTimeoutError)):
        await pipe.execute("PING")
    with pytest.raises(RedisConnectionError):  # still down: refused at once
        await pipe.execute("PING")
    private_redis.start()
    assert await pipe.execute("PING") == b"PONG"
    await pipe.aclose()


async def test_slow_replies_keep_every_caller_in_order(proxy: Proxy) -> None:
    """Back-pressure: commands issued while replies are held back all wait, then each gets
    its own answer in order, none lost and none crossed."""
    pipe = PipelinedRedis(f"redis://127.0.0.1:{proxy.port}/0", timeout=3)
    await pipe.execute("PING")
    proxy.flowing.clear()
    calls = [asyncio.ensure_future(pipe.execute("ECHO", str(i))) for i in range(500)]
    await asyncio.sleep(0.3)
    assert not any(call.done() for call in calls)
    proxy.flowing.set()
    answers = await asyncio.wait_for(asyncio.gather(*calls), 3)
    assert answers == [str(i).encode() for i in range(500)]
    await pipe.aclose()
