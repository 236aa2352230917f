"""A delivery the worker marks failed reaches the owner's cached `failedDeliveries` at once.

The real app with the response cache on, the real arq worker and a real SMTP server that
refuses the recipient for good; SQLite and PostgreSQL, the real Redis.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.settings import Settings
from models import OutboxJob, OutboxStatus
from tests.conftest import make_settings
from tests.utils.accounts import User, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import invite
from tests.workers.conftest import Mailbox, eventually

FAILED_DELIVERIES = "{ failedDeliveries { job error } }"


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    """The cache on, whatever the suite's default (it also runs with the cache off)."""
    return make_settings(database_url, redis_url, redis_prefix, RESPONSE_CACHE_ENABLED=True)


async def failed_deliveries(owner: User) -> tuple[list[dict[str, Any]], str]:
    r = await owner.gql.http.post("/graphql", json={"query": FAILED_DELIVERIES},
                                  headers={"Authorization": f"Bearer {owner.token}"})  # fmt: skip
    return r.json()["data"]["failedDeliveries"], r.headers.get("x-cache", "none")


async def test_a_delivery_marked_failed_is_not_hidden_by_a_cached_empty_list(
    gql: GraphQLClient, mailbox: Mailbox, start_worker: Any
) -> None:
    owner = await sign_up(gql, "Owner")
    mailbox.unknown = {"nobody@collab.example"}
    await invite(owner, "nobody@collab.example")  # queued; no worker yet
    await failed_deliveries(owner)
    assert await failed_deliveries(owner) == ([], "hit")

    async with start_worker():
        await eventually(lambda: OutboxJob.exists(status=OutboxStatus.FAILED))
    [failure], outcome = await failed_deliveries(owner)
    assert outcome != "hit"
    assert failure["job"] == "invitation_email" and "550" in failure["error"]
