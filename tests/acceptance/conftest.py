"""Acceptance fixtures: one app per test module and database, to keep the run short.

The suite's own fixtures start a fresh app for every test (about 0.3 s each); here each
module gets one app per database (SQLite, PostgreSQL), and tests stay independent by
making their own accounts with unique emails.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from tortoise import Tortoise

from gateway.app import create_app
from infra.settings import Settings
from tests.conftest import make_settings
from tests.utils import databases
from tests.utils.graphql import GraphQLClient


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    marker = pytest.mark.asyncio(loop_scope="module")
    for item in items:
        func = getattr(item, "obj", None)
        in_here = "tests/acceptance/" in str(item.path).replace("\\", "/")
        if in_here and inspect.iscoroutinefunction(func):
            item.add_marker(marker, append=False)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_database")


@pytest.fixture(scope="module")
def redis_prefix() -> str:
    return f"collab-test:{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return make_settings(database_url, redis_url, redis_prefix)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(settings: Settings, redis_url: str, redis_prefix: str) -> AsyncIterator[object]:
    await databases.reset(settings.DATABASE_URL)
    await Tortoise.close_connections()
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    client = Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(f"{redis_prefix}:*", count=10_000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://collab.test") as client:
        yield client


@pytest.fixture(scope="module")
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)
