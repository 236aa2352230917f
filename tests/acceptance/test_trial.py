"""platformSetAccountKind: a past trialEndsAt ends a member's access at once."""

from __future__ import annotations

from .helpers import (
    FULL_ACCESS,
    FULL_P,
    MEMBERS_DEFAULT,
    SET_KIND,
    active_member,
    env,
    platform,
    policies_of,
    sign_up,
)

PAST = "2020-01-01T00:00:00+00:00"
EXPLAIN = """query($m: ID!, $e: ID!) {
  explainAccess(memberId: $m, environmentId: $e) { policies level reason } }"""
SECTIONS = "{ sharedWithMe { owner { id } member { status } } }"


async def status_of(owner, mid):
    ms = (await owner.gql(MEMBERS_DEFAULT)).data["members"]
    return next(m["status"] for m in ms if m["id"] == mid)


async def test_past_trial_end_expires_member_at_once_and_full_restores(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    mid = await active_member(owner, pal, shares=[{"root": True, "roleIds": [FULL_ACCESS]}])
    assert await policies_of(pal, e["id"]) == FULL_P
    plat = platform(gql)
    p = (await plat(SET_KIND, id=pal.id, kind="TRIAL", ends=PAST)).ok("platformSetAccountKind")
    assert p["account"]["kind"] == "TRIAL" and p["account"]["trialEndsAt"].startswith("2020-01-01")
    assert await policies_of(pal, e["id"]) is None
    assert await status_of(owner, mid) == "TRIAL_EXPIRED"
    assert (await pal.gql(SECTIONS)).data["sharedWithMe"] == []
    x = (await owner.gql(EXPLAIN, m=mid, e=e["id"])).data["explainAccess"]
    assert x["policies"] == [] and x["reason"] == "TRIAL_EXPIRED"
    p = (await plat(SET_KIND, id=pal.id, kind="FULL")).ok("platformSetAccountKind")
    assert p["account"]["kind"] == "FULL"
    assert await status_of(owner, mid) == "ACTIVE"
    assert await policies_of(pal, e["id"]) == FULL_P


async def test_collaborator_kind_also_restores(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    mid = await active_member(owner, pal, shares=[{"root": True, "roleIds": [FULL_ACCESS]}])
    plat = platform(gql)
    (await plat(SET_KIND, id=pal.id, kind="TRIAL", ends=PAST)).ok("platformSetAccountKind")
    assert await status_of(owner, mid) == "TRIAL_EXPIRED"
    (await plat(SET_KIND, id=pal.id, kind="COLLABORATOR")).ok("platformSetAccountKind")
    assert await status_of(owner, mid) == "ACTIVE"
    assert await policies_of(pal, e["id"]) == FULL_P


async def test_suspended_member_is_not_reactivated_by_upgrade(gql):
    """ACTIVE -> TRIAL_EXPIRED only; a SUSPENDED member stays SUSPENDED."""
    from .helpers import SUSPEND

    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    mid = await active_member(owner, pal)
    (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    plat = platform(gql)
    (await plat(SET_KIND, id=pal.id, kind="TRIAL", ends=PAST)).ok("platformSetAccountKind")
    (await plat(SET_KIND, id=pal.id, kind="FULL")).ok("platformSetAccountKind")
    assert await status_of(owner, mid) == "SUSPENDED"
