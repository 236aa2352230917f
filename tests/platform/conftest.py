"""The platform simulator (`collab paas-sim`) on a loopback port, and a gateway and a real
arq worker configured to speak to it (`PAAS_BACKEND=http`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from collab import paas_sim
from domain import paas
from infra.settings import Settings
from tests.conftest import PLATFORM_TOKEN, make_settings
from tests.utils.accounts import User, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.processes import free_port
from tests.workers.conftest import eventually, running_worker

PAAS_TOKEN = "sim-session-token"
LINK = """
mutation($id: ID!, $uid: String!) {
  platformLinkAccount(accountId: $id, platformUid: $uid) {
    account { id platformUid } errors { code message field }
  }
}"""
CHANGED = "mutation($uid: String!) { platformEnvironmentsChanged(platformUid: $uid) }"
OPERATION = "lastOperation { id action status error { code message } requestedBy { id } createdAt finishedAt }"
ENV = f"id name displayName status busy {OPERATION}"


class Sim:
    """The running simulator: its URL, and its state for seeding and faults."""

    def __init__(self, server: paas_sim.EmbeddedServer, url: str) -> None:
        self.server = server
        self.url = url
        app: Any = server.config.app
        self.platform: paas_sim.Platform = app.state.platform

    def add(self, owner_uid: str, name: str, status: int = 1, display: str | None = None) -> None:
        self.platform.environments[name] = paas_sim.SimEnvironment(
            owner_uid, name, display or name, status
        )

    def fault(self, method: str = "*", **switches: Any) -> None:
        if switches:
            self.platform.faults[method] = switches
        else:
            self.platform.faults.pop(method, None)

    def calls(self, method: str) -> list[dict[str, str]]:
        return [c["params"] for c in self.platform.calls if c["method"] == method]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    port = free_port()
    server = paas_sim.embedded(PAAS_TOKEN, port)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, 10)
    try:
        yield Sim(server, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


@pytest.fixture(autouse=True)
def builtin_afterwards() -> Iterator[None]:
    """The backend is process-wide: the next test (same process) starts on the default."""
    yield
    paas.use_backend(paas.BuiltInPaas())


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str, sim: Sim) -> Settings:
    return make_settings(
        database_url, redis_url, redis_prefix, PAAS_BACKEND="http", PAAS_URL=sim.url,
        PAAS_TOKEN=PAAS_TOKEN, PAAS_TIMEOUT_SECONDS=1, PAAS_RETRY_SECONDS=3,
        PAAS_BREAKER_THRESHOLD=3, PAAS_BREAKER_SECONDS=2, WORKER_LEASE_SECONDS=1,
    )  # fmt: skip


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Any]:
    async with running_worker(settings) as arq_worker:
        yield arq_worker


def platform_client(gql: GraphQLClient) -> GraphQLClient:
    client = gql.as_(None)
    client.headers["X-Platform-Token"] = PLATFORM_TOKEN
    return client


async def linked_owner(gql: GraphQLClient, name: str, uid: str) -> User:
    owner = await sign_up(gql, name)
    r = await platform_client(gql)(LINK, id=owner.id, uid=uid)
    assert r.ok("platformLinkAccount")["account"] == {"id": owner.id, "platformUid": uid}
    return owner


async def environments(user: User) -> dict[str, dict[str, Any]]:
    r = await user.gql(f"{{ environments {{ {ENV} }} }}")
    return {e["name"]: e for e in r.data["environments"]}


async def settled(user: User, env_id: str, within: float = 10.0) -> dict[str, Any]:
    """The environment once its last operation has ended."""

    async def ended() -> dict[str, Any] | None:
        r = await user.gql(f"query($id: ID!) {{ environment(id: $id) {{ {ENV} }} }}", id=env_id)
        env = r.data["environment"]
        done = env["lastOperation"]["status"] in ("SUCCEEDED", "FAILED")
        return env if done and not env["busy"] else None

    env = await eventually(ended, within)
    assert env, f"the operation on {env_id} did not end within {within} s"
    return env
