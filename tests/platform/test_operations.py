"""Environment actions on the platform, end to end: the gateway (PAAS_BACKEND=http), a
real arq worker and the platform simulator over loopback HTTP. Nothing of ours is mocked.

Settings here shrink the waits: PAAS_RETRY_SECONDS=3 (60 in production),
PAAS_BREAKER_SECONDS=2 (30), PAAS_TIMEOUT_SECONDS=1 (10), WORKER_LEASE_SECONDS=1.
"""

from __future__ import annotations

import asyncio
import time

from domain.jobs import Job
from models import AuditEntry, AuditOutcome, Environment, EnvironmentOperation, OutboxJob
from tests.platform.conftest import (
    CHANGED,
    ENV,
    environments,
    linked_owner,
    platform_client,
    settled,
)
from tests.utils.accounts import sign_up
from tests.utils.members import FULL_ACCESS, VIEWER, active_member
from tests.workers.conftest import eventually, running_worker

START = f"mutation($id: ID!) {{ startEnvironment(id: $id) {{ environment {{ {ENV} }} errors {{ code message }} }} }}"
STOP = f"mutation($id: ID!) {{ stopEnvironment(id: $id) {{ environment {{ {ENV} }} errors {{ code message }} }} }}"
CLONE = (
    "mutation($id: ID!, $name: String!) { cloneEnvironment(id: $id, name: $name) "
    f"{{ environment {{ {ENV} }} errors {{ code message }} }} }}"
)
CREATE = (
    "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) "
    f"{{ environment {{ {ENV} }} errors {{ code message }} }} }}"
)
DELETE = f"mutation($id: ID!) {{ deleteEnvironment(id: $id) {{ environment {{ {ENV} }} errors {{ code message }} }} }}"


async def owner_with(gql, sim, uid: str, **envs: int):
    """A linked owner whose platform account holds these environments (name: status),
    synced in."""
    for name, status in envs.items():
        sim.add(uid, name, status)
    owner = await linked_owner(gql, "Owner", uid)
    found = await eventually(
        lambda: _all_there(owner, set(envs)), 10
    )  # the link queues the first sync
    assert found, "the first sync did not bring the platform's environments in"
    return owner, found


async def _all_there(owner, names):
    found = await environments(owner)
    return found if names <= set(found) else None


async def test_an_owners_start_calls_startenv_once_and_ends_running(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-start", shop=2)
    assert envs["shop"]["status"] == "STOPPED"
    p = (await owner.gql(START, id=envs["shop"]["id"])).ok("startEnvironment")
    env = p["environment"]
    assert env["busy"] is True and env["status"] == "STOPPED"  # answered before the platform
    assert env["lastOperation"]["status"] in ("PENDING", "RUNNING")
    assert env["lastOperation"]["action"] == "env.start"
    assert env["lastOperation"]["requestedBy"] == {"id": owner.id}
    done = await settled(owner, env["id"])
    assert done["status"] == "RUNNING" and done["lastOperation"]["status"] == "SUCCEEDED"
    assert done["lastOperation"]["error"] is None and done["lastOperation"]["finishedAt"]
    assert sim.calls("startenv") == [{"appid": "cluster", "envName": "shop"}]


async def test_a_second_action_while_one_is_open_is_invalid_state(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-busy", shop=1)
    sim.fault("stopenv", latency=0.7)
    shop = envs["shop"]["id"]
    assert (await owner.gql(STOP, id=shop)).ok("stopEnvironment")["environment"]["busy"]
    second = (await owner.gql(START, id=shop)).payload("startEnvironment")
    assert [e["code"] for e in second["errors"]] == ["INVALID_STATE"]
    done = await settled(owner, shop)
    assert done["status"] == "STOPPED" and len(sim.calls("stopenv")) == 1
    assert sim.calls("startenv") == []  # the refused one never reached the platform
    # once the first has ended, the next action is accepted
    assert (await owner.gql(START, id=shop)).ok("startEnvironment")


async def test_a_collaborators_refused_start_calls_nothing(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-viewer", shop=2)
    viewer = await sign_up(gql, "Viewer")
    await active_member(
        owner, viewer, shares=[{"environmentId": envs["shop"]["id"], "roleIds": [VIEWER]}]
    )
    p = (await viewer.gql(START, id=envs["shop"]["id"])).payload("startEnvironment")
    assert [e["code"] for e in p["errors"]] == ["FORBIDDEN"]
    await asyncio.sleep(0.5)
    assert sim.calls("startenv") == []
    assert not await EnvironmentOperation.exists(action="env.start")


async def test_a_refusal_fails_at_once_with_the_platforms_text_and_is_not_retried(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-refuse", shop=2)
    sim.fault("startenv", refuse="Not enough cloudlets on the hardware node", result=99)
    (await owner.gql(START, id=envs["shop"]["id"])).ok("startEnvironment")
    done = await settled(owner, envs["shop"]["id"])
    assert done["status"] == "STOPPED"
    assert done["lastOperation"]["status"] == "FAILED"
    assert done["lastOperation"]["error"] == {
        "code": "PLATFORM_REFUSED", "message": "Not enough cloudlets on the hardware node",
    }  # fmt: skip
    await asyncio.sleep(1)
    assert len(sim.calls("startenv")) == 1


async def test_an_outage_fails_unavailable_after_retries_and_the_api_stays_fast(
    gql, http, sim, worker
):
    owner, envs = await owner_with(gql, sim, "uid-down", shop=1, blog=1)
    sim.fault("*", outage=True)
    (await owner.gql(STOP, id=envs["shop"]["id"])).ok("stopEnvironment")
    while_down = []
    for _ in range(5):  # the API answers while the worker keeps retrying
        started = time.monotonic()
        assert (await http.get("/healthz")).status_code == 200
        assert (await owner.gql("{ me { id } }")).data["me"]["id"] == owner.id
        while_down.append(time.monotonic() - started)
        await asyncio.sleep(0.3)
    assert max(while_down) < 1.0
    done = await settled(owner, envs["shop"]["id"], within=15)
    assert done["status"] == "RUNNING"  # nothing changed
    assert done["lastOperation"]["error"]["code"] == "PLATFORM_UNAVAILABLE"
    tries = len(sim.calls("stopenv"))
    assert tries >= 3, "an outage is retried"
    # 3 outages in a row (PAAS_BREAKER_THRESHOLD here) opened the breaker: a new action
    # fails fast, calling nothing
    started = time.monotonic()
    (await owner.gql(STOP, id=envs["blog"]["id"])).ok("stopEnvironment")
    fast = await settled(owner, envs["blog"]["id"], within=3)
    assert time.monotonic() - started < 2
    assert fast["lastOperation"]["error"]["code"] == "PLATFORM_UNAVAILABLE"
    assert len(sim.calls("stopenv")) == tries


async def test_a_hanging_platform_is_an_outage_bounded_by_the_time_out(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-hang", shop=1)
    sim.fault("restartnodes", hang=True)
    r = await owner.gql(
        "mutation($id: ID!) { restartNodes(id: $id) { environment { id } errors { code } } }",
        id=envs["shop"]["id"],
    )
    r.ok("restartNodes")
    done = await settled(owner, envs["shop"]["id"], within=15)
    assert done["lastOperation"]["error"]["code"] == "PLATFORM_UNAVAILABLE"


async def test_create_and_clone_make_the_environment_on_the_platform(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-make", shop=1)
    made = (await owner.gql(CREATE, input={"name": "blog", "displayName": "My blog"})).ok(
        "createEnvironment"
    )["environment"]
    assert made["busy"] and made["lastOperation"]["action"] == "env.create"
    assert (await settled(owner, made["id"]))["lastOperation"]["status"] == "SUCCEEDED"
    assert sim.calls("createenvironment") == [
        {"appid": "cluster", "ownerUid": "uid-make", "envName": "blog", "displayName": "My blog"}
    ]
    copy = (await owner.gql(CLONE, id=envs["shop"]["id"], name="shop-two")).ok("cloneEnvironment")[
        "environment"
    ]
    done = await settled(owner, copy["id"])
    assert done["status"] == "RUNNING" and done["lastOperation"]["status"] == "SUCCEEDED"
    assert sim.platform.environments["shop-two"].owner_uid == "uid-make"
    # a clone the platform refuses leaves no environment behind
    sim.fault("cloneenv", refuse="Quota of environments reached")
    failed = (await owner.gql(CLONE, id=envs["shop"]["id"], name="shop-three")).ok(
        "cloneEnvironment"
    )["environment"]
    gone = await settled(owner, failed["id"])
    assert gone["status"] == "DELETED"
    assert gone["lastOperation"]["error"]["message"] == "Quota of environments reached"


async def test_delete_on_the_platform_then_the_environment_is_deleted(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-delete", shop=1)
    (await owner.gql(DELETE, id=envs["shop"]["id"])).ok("deleteEnvironment")
    done = await settled(owner, envs["shop"]["id"])
    assert done["status"] == "DELETED" and "shop" not in sim.platform.environments
    assert "shop" not in await environments(owner)


async def test_a_clone_interrupted_mid_call_is_resumed_without_cloning_twice(gql, sim, settings):
    """The first worker stops while cloneenv is on the wire (the platform answers after
    it has gone); the next one asks getenvs, finds the copy and calls cloneenv no more."""
    async with running_worker(settings) as first:
        owner, envs = await owner_with(gql, sim, "uid-crash", shop=1)
        sim.fault("cloneenv", latency=1.0)
        copy = (await owner.gql(CLONE, id=envs["shop"]["id"], name="shop-copy")).ok(
            "cloneEnvironment"
        )["environment"]
        assert await eventually(lambda: sim.calls("cloneenv"), 5)
        for task in list(first.tasks.values()):  # the worker goes away mid-call
            task.cancel()
        await asyncio.sleep(1.2)  # the platform finishes the clone meanwhile
        assert "shop-copy" in sim.platform.environments
    async with running_worker(settings):
        done = await settled(owner, copy["id"], within=10)
    assert done["lastOperation"]["status"] == "SUCCEEDED" and done["status"] == "RUNNING"
    row = await OutboxJob.get(job=Job.PLATFORM_OPERATION.value)
    assert row.attempts >= 2, "a second run took the operation over"
    assert len(sim.calls("cloneenv")) == 1
    assert sim.calls("getenvs")[-1] == {"appid": "cluster", "ownerUid": "uid-crash"}
    assert (await Environment.get(id=copy["id"])).open_operation_id is None


async def test_the_push_is_false_for_an_unknown_platform_account(gql, sim):
    r = await platform_client(gql)(CHANGED, uid="nobody-here")
    assert r.data["platformEnvironmentsChanged"] is False


async def test_a_collaborators_start_runs_and_its_audit_entry_learns_the_outcome(gql, sim, worker):
    owner, envs = await owner_with(gql, sim, "uid-friend", shop=2)
    friend = await sign_up(gql, "Friend")
    await active_member(
        owner, friend, shares=[{"environmentId": envs["shop"]["id"], "roleIds": [FULL_ACCESS]}]
    )
    p = (await friend.gql(START, id=envs["shop"]["id"])).ok("startEnvironment")
    assert p["environment"]["lastOperation"]["requestedBy"] == {"id": friend.id}
    done = await settled(friend, envs["shop"]["id"])
    assert done["status"] == "RUNNING"
    shared = (await friend.gql("{ sharedWithMe { environments { name status } } }")).data
    assert shared["sharedWithMe"][0]["environments"] == [{"name": "shop", "status": "RUNNING"}]
    entry = await AuditEntry.get(action="env.start", actor_id=friend.id)
    assert entry.outcome is AuditOutcome.ALLOWED
    assert entry.detail is not None and entry.detail["result"] == "SUCCEEDED"
