"""Apps under test with settings other than the defaults (production mode, tight limits)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from gateway.app import create_app
from infra.settings import Settings
from tests.conftest import make_settings
from tests.utils import databases

AppFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def app_factory(
    database_url: str, redis_url: str, redis_prefix: str, redis: Any
) -> AsyncIterator[AppFactory]:
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> httpx.AsyncClient:
            base = make_settings(database_url, redis_url, redis_prefix).model_dump()
            settings = Settings(_env_file=None, **{**base, **overrides})  # type: ignore[call-arg]
            await databases.reset(settings.DATABASE_URL)
            await Tortoise.close_connections()
            application = create_app(settings)
            await stack.enter_async_context(application.router.lifespan_context(application))
            transport = httpx.ASGITransport(app=application)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://collab.test")
            )

        yield make
