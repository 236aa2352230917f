"""/readyz answers 503 when Redis does not answer; /healthz still answers."""

from __future__ import annotations

import pytest

from infra.settings import Settings

from .conftest import make_settings


@pytest.fixture(scope="module")
def settings(database_url: str, redis_prefix: str) -> Settings:
    return make_settings(database_url, "redis://127.0.0.1:1/0", redis_prefix)


async def test_readyz_503_when_redis_is_down(http):
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 503
