"""Brute force and enumeration: limits that hold under concurrency, across processes (Redis)
and while Redis is down (in-process fallback), with a retry-after hint."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain import accounts
from tests.utils.accounts import PASSWORD, sign_up
from tests.utils.processes import free_port

LOG_IN = """mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) {
  token errors { code message } } }"""
SIGN_UP = """mutation($email: String!, $password: String!) { signUp(email: $email, password: $password) {
  token errors { code message } } }"""


def code_of(r) -> str:  # type: ignore[no-untyped-def]
    errors = r.payload("logIn")["errors"] if "logIn" in r.data else r.payload("signUp")["errors"]
    return errors[0]["code"] if errors else "ok"


async def test_concurrent_wrong_passwords_are_counted_before_they_are_checked(gql):
    user = await sign_up(gql, "Target")
    answers = await asyncio.gather(
        *(gql(LOG_IN, email=user.email, password=f"wrong-{i}-guess") for i in range(40))
    )
    codes = [code_of(r) for r in answers]
    assert codes.count("UNAUTHENTICATED") == 10  # RATE_LIMIT_LOGIN_ADDRESS_EMAIL
    assert codes.count("RATE_LIMITED") == 30
    limited = next(r for r in answers if code_of(r) == "RATE_LIMITED")
    assert re.search(r"retry in \d+ s", limited.payload("logIn")["errors"][0]["message"])


async def test_the_owner_is_not_locked_out_by_one_attacking_address(gql, http):
    user = await sign_up(gql, "Owner")
    attacker = gql.as_(None)
    attacker.headers["X-Forwarded-For"] = "ignored"  # the address is the peer's, not a header
    for _ in range(12):
        await attacker(LOG_IN, email=user.email, password="guess-guess")
    # The same email from another address still logs in.
    other = await _from_address(http, "10.9.8.7")
    r = await other.post("/graphql", json={"query": LOG_IN, "variables": {
        "email": user.email, "password": PASSWORD}})  # fmt: skip
    assert r.json()["data"]["logIn"]["token"]


async def _from_address(http, address: str):  # type: ignore[no-untyped-def]
    import httpx

    transport = httpx.ASGITransport(app=http._transport.app, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://collab.test")


async def test_sign_ups_are_capped_per_address(app_factory):
    http = await app_factory(RATE_LIMIT_SIGNUP_ADDRESS="3/minute")
    import httpx

    client = httpx.AsyncClient(transport=http._transport, base_url="http://collab.test")
    codes = []
    for i in range(4):
        r = await client.post("/graphql", json={"query": SIGN_UP, "variables": {
            "email": f"s{i}@collab.example", "password": PASSWORD}})  # fmt: skip
        errors = r.json()["data"]["signUp"]["errors"]
        codes.append(errors[0]["code"] if errors else "ok")
    assert codes == ["ok", "ok", "ok", "RATE_LIMITED"]


async def test_log_in_and_sign_up_do_the_same_work_for_known_and_unknown_emails(gql):
    """The same answer, after one password hash either way (so the same time class)."""
    user = await sign_up(gql, "Known")
    real = accounts._hasher
    calls: list[str] = []

    class Counting:
        def hash(self, password: str) -> str:
            calls.append("hash")
            return real.hash(password)

        def verify(self, hashed: str, password: str) -> bool:
            calls.append("verify")
            return real.verify(hashed, password)

    accounts._hasher = Counting()  # type: ignore[assignment]
    try:
        known = await gql(LOG_IN, email=user.email, password="not-the-one")
        unknown = await gql(LOG_IN, email="nobody@collab.example", password="not-the-one")
        assert known.payload("logIn") == unknown.payload("logIn")
        assert calls == ["verify", "verify"]
        calls.clear()
        await gql(SIGN_UP, email=user.email, password=PASSWORD)
        await gql(SIGN_UP, email="fresh@collab.example", password=PASSWORD)
        assert calls == ["hash", "hash"]
    finally:
        accounts._hasher = real


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, which the test may stop (never the shared one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)], stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    import redis as sync_redis

    deadline = time.monotonic() + 10
    while True:
        try:
            sync_redis.Redis.from_url(url).ping()
            break
        except sync_redis.ConnectionError:
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)
    try:
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_limits_hold_in_process_while_redis_is_down(app_factory, private_redis):
    url, server = private_redis
    http = await app_factory(REDIS_URL=url)
    import httpx

    client = httpx.AsyncClient(transport=http._transport, base_url="http://collab.test")

    async def log_in(email: str, password: str) -> str:
        r = await client.post("/graphql", json={"query": LOG_IN, "variables": {
            "email": email, "password": password}})  # fmt: skip
        errors = r.json()["data"]["logIn"]["errors"]
        return errors[0]["code"] if errors else "ok"

    r = await client.post("/graphql", json={"query": SIGN_UP, "variables": {
        "email": "down@collab.example", "password": PASSWORD}})  # fmt: skip
    assert r.json()["data"]["signUp"]["token"]
    assert [await log_in("down@collab.example", "nope-nope") for _ in range(3)] == [
        "UNAUTHENTICATED"] * 3  # fmt: skip
    server.terminate()
    server.wait(timeout=10)
    # Redis is gone: the real user still logs in, and guessing is still capped.
    assert await log_in("down@collab.example", PASSWORD) == "ok"
    guesses = [await log_in("down@collab.example", "nope-nope") for _ in range(12)]
    assert guesses[:10] == ["UNAUTHENTICATED"] * 10 and guesses[10:] == ["RATE_LIMITED"] * 2
