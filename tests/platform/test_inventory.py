"""Inventory in step with the platform: linking, the push, the periodic sync, and syncs that
fail. The gateway, a real worker and the simulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid

from domain import inventory
from infra.paas_client import PaasClient
from models import Account, Environment, EnvironmentStatus
from tests.platform.conftest import (
    CHANGED,
    LINK,
    PAAS_TOKEN,
    environments,
    linked_owner,
    platform_client,
)
from tests.utils.accounts import sign_up
from tests.utils.members import FULL_ACCESS, active_member
from tests.workers.conftest import eventually, running_worker

SHARED = "{ sharedWithMe { environments { name } } }"


async def synced(owner, check, within: float = 10.0):
    async def look():
        found = await environments(owner)
        return found if check(found) else None

    found = await eventually(look, within)
    assert found, "the sync did not arrive"
    return found


async def test_linking_brings_the_platforms_environments_in_at_the_root(gql, sim, worker):
    sim.add("uid-1", "shop", 1, "Shop")
    sim.add("uid-1", "blog", 4, "Blog")
    sim.add("uid-1", "api", 3, "API")  # mid-transition: busy
    sim.add("uid-other", "elsewhere", 1)
    owner = await linked_owner(gql, "Owner", "uid-1")
    found = await synced(owner, lambda f: len(f) == 3)
    assert {n: (e["displayName"], e["status"], e["busy"]) for n, e in found.items()} == {
        "shop": ("Shop", "RUNNING", False),
        "blog": ("Blog", "STOPPED", False),
        "api": ("API", "RUNNING", True),
    }
    r = await owner.gql(
        "{ environmentGroups { id } environments { groups { id } } me { platformUid } }"
    )
    assert r.data["environmentGroups"] == [] and all(
        not e["groups"] for e in r.data["environments"]
    )
    assert r.data["me"]["platformUid"] == "uid-1"


async def test_a_push_makes_ours_follow_and_deleted_shares_grant_nothing(gql, sim, worker):
    sim.add("uid-2", "shop", 1, "Shop")
    sim.add("uid-2", "blog", 1, "Blog")
    owner = await linked_owner(gql, "Owner", "uid-2")
    found = await synced(owner, lambda f: len(f) == 2)
    friend = await sign_up(gql, "Friend")
    await active_member(owner, friend, shares=[{"environmentId": found["blog"]["id"],
                                                "roleIds": [FULL_ACCESS]}])  # fmt: skip
    del sim.platform.environments["blog"]
    sim.platform.environments["shop"].status = 2
    sim.platform.environments["shop"].display_name = "Shop (paused)"
    sim.add("uid-2", "docs", 1, "Docs")
    r = await platform_client(gql)(CHANGED, uid="uid-2")
    assert r.data["platformEnvironmentsChanged"] is True
    now = await synced(owner, lambda f: "docs" in f and "blog" not in f)
    assert (now["shop"]["status"], now["shop"]["displayName"]) == ("STOPPED", "Shop (paused)")
    blog = await Environment.get(id=found["blog"]["id"])
    assert blog.status is EnvironmentStatus.DELETED
    # the share stays (the audit log names it) but reaches nothing
    r = await owner.gql("{ members { shares { target { ... on Environment { id } } } } }")
    assert r.data["members"][0]["shares"][0]["target"] == {"id": found["blog"]["id"]}
    assert (await friend.gql(SHARED)).data["sharedWithMe"][0]["environments"] == []
    r = await friend.gql(
        "mutation($id: ID!) { startEnvironment(id: $id) { errors { code } } }",
        id=found["blog"]["id"],
    )
    assert r.payload("startEnvironment")["errors"][0]["code"] in ("NOT_FOUND", "FORBIDDEN")


async def test_a_failed_or_partial_sync_changes_nothing(gql, sim, worker):
    sim.add("uid-3", "shop", 1)
    sim.add("uid-3", "blog", 1)
    owner = await linked_owner(gql, "Owner", "uid-3")
    before = await synced(owner, lambda f: len(f) == 2)
    del sim.platform.environments["blog"]
    for fault in ({"outage": True}, {"garbage": True}):
        sim.fault("getenvs", **fault)
        calls = len(sim.calls("getenvs"))
        asked = lambda calls=calls: len(sim.calls("getenvs")) > calls  # noqa: E731
        assert (await platform_client(gql)(CHANGED, uid="uid-3")).data[
            "platformEnvironmentsChanged"
        ]
        assert await eventually(asked, 5)
        await asyncio.sleep(0.5)
        assert await environments(owner) == before
    sim.fault("getenvs")
    # a partial answer: an entry without its name
    original = sim.platform.answer

    def partial(method, params):
        answer = original(method, params)
        if method == "getenvs":
            answer["infos"].append({"env": {"displayName": "?", "status": 1}})
        return answer

    sim.platform.answer = partial  # type: ignore[method-assign]
    calls = len(sim.calls("getenvs"))
    await platform_client(gql)(CHANGED, uid="uid-3")
    assert await eventually(lambda: len(sim.calls("getenvs")) > calls, 5)
    await asyncio.sleep(0.5)
    assert await environments(owner) == before


async def test_the_periodic_sync_runs_without_a_push(gql, sim, settings):
    sim.add("uid-4", "shop", 1)
    fast = settings.model_copy(update={"PAAS_SYNC_SECONDS": 1})
    async with running_worker(fast):
        owner = await linked_owner(gql, "Owner", "uid-4")
        await synced(owner, lambda f: "shop" in f)
        sim.add("uid-4", "later", 1)
        await synced(owner, lambda f: "later" in f, within=5)


async def test_linking_is_for_the_platform_and_one_account_per_platform_uid(gql, sim):
    owner = await sign_up(gql, "Owner")
    other = await sign_up(gql, "Other")
    r = await owner.gql(LINK, id=owner.id, uid="uid-5")  # a user's login is not enough
    assert r.payload("platformLinkAccount")["errors"][0]["code"] == "UNAUTHENTICATED"
    r = await owner.gql(CHANGED, uid="uid-5")
    assert r.data is None or r.data.get("platformEnvironmentsChanged") is None
    assert "UNAUTHENTICATED" in r.codes()
    platform = platform_client(gql)
    assert (await platform(LINK, id=owner.id, uid="uid-5")).ok("platformLinkAccount")
    r = await platform(LINK, id=other.id, uid="uid-5")
    assert r.payload("platformLinkAccount")["errors"][0]["code"] == "CONFLICT"
    for bad_id in (str(uuid.uuid4()), "nonsense"):
        r = await platform(LINK, id=bad_id, uid="uid-6")
        assert r.payload("platformLinkAccount")["errors"][0]["code"] == "NOT_FOUND"
    r = await platform(LINK, id=other.id, uid="  ")
    assert r.payload("platformLinkAccount")["errors"][0] == {
        "code": "VALIDATION", "message": "The platform uid is empty", "field": "platformUid",
    }  # fmt: skip
    assert (await other.gql("{ me { platformUid } }")).data["me"]["platformUid"] is None


async def test_five_thousand_environments_sync_in_one_call(orm, sim):
    """The domain sync alone against the simulator: one getenvs for 5,000 environments,
    and a second sync with nothing new changes nothing."""
    owner = await Account.create(
        id=uuid.uuid4(), email=f"big-{uuid.uuid4().hex[:6]}@collab.example", password_hash="x",
        platform_uid="uid-big",
    )  # fmt: skip
    for i in range(5000):
        sim.add("uid-big", f"env-{i:05d}", 1 + (i % 2))
    client = PaasClient(sim.url, PAAS_TOKEN, timeout=30)
    try:
        started = time.monotonic()
        report = await inventory.sync_owner(owner, client, None)
        first = time.monotonic() - started
        assert report.added == 5000 and len(sim.calls("getenvs")) == 1
        assert (
            await Environment.filter(owner_id=owner.id, status=EnvironmentStatus.STOPPED).count()
            == 2500
        )
        again = await inventory.sync_owner(owner, client, None)
        assert not again.changed
        del sim.platform.environments["env-00007"]
        gone = await inventory.sync_owner(owner, client, None)
        assert (gone.deleted, gone.added, gone.updated) == (1, 0, 0)
    finally:
        await client.aclose()
    assert first < 60  # the figure itself is in the bench
