"""The member's "Environments owned by …" sections follow the membership's status."""

from __future__ import annotations

from tests.utils.accounts import sign_up
from tests.utils.members import ACCEPT_BY_ID, ERRORS, VIEWER, invite

SECTIONS = "{ sharedWithMe { owner { id displayName } member { id status } } }"


def owner_call(name: str) -> str:
    return f"mutation($id: ID!) {{ {name}(id: $id) {{ member {{ status }} {ERRORS} }} }}"


LEAVE = (
    f"mutation($id: ID!) {{ leaveCollaboration(memberId: $id) {{ member {{ status }} {ERRORS} }} }}"
)


async def sections(user) -> list[tuple[str, str]]:
    data = (await user.gql(SECTIONS)).data["sharedWithMe"]
    return [(s["owner"]["id"], s["member"]["status"]) for s in data]


async def test_sections_exist_only_while_active(gql):
    owner = await sign_up(gql, "Olga")
    ivy = await sign_up(gql, "ivy")
    mid = (await invite(owner, ivy.email, shares=[{"root": True, "roleIds": [VIEWER]}]))["id"]
    assert await sections(ivy) == []  # pending: an invitation, not a section

    (await ivy.gql(ACCEPT_BY_ID, id=mid)).ok("acceptInvitation")
    assert await sections(ivy) == [(owner.id, "ACTIVE")]

    (await owner.gql(owner_call("suspendMember"), id=mid)).ok("suspendMember")
    assert await sections(ivy) == []
    (await owner.gql(owner_call("activateMember"), id=mid)).ok("activateMember")
    assert await sections(ivy) == [(owner.id, "ACTIVE")]

    (await ivy.gql(LEAVE, id=mid)).ok("leaveCollaboration")
    assert await sections(ivy) == []
    (await owner.gql(owner_call("reinviteMember"), id=mid)).ok("reinviteMember")
    assert await sections(ivy) == []
    (await ivy.gql(ACCEPT_BY_ID, id=mid)).ok("acceptInvitation")
    assert await sections(ivy) == [(owner.id, "ACTIVE")]

    (await owner.gql(owner_call("removeMember"), id=mid)).ok("removeMember")
    assert await sections(ivy) == []


async def test_one_section_per_owner(gql):
    alice, bob = await sign_up(gql, "alice"), await sign_up(gql, "bob")
    ivy = await sign_up(gql, "ivy")
    for owner in (alice, bob):
        mid = (await invite(owner, ivy.email))["id"]
        (await ivy.gql(ACCEPT_BY_ID, id=mid)).ok("acceptInvitation")
    assert sorted(o for o, _ in await sections(ivy)) == sorted([alice.id, bob.id])


ONE_SECTION = """query($owner: ID) { sharedWithMe(ownerId: $owner) { owner { id }
  environments { name } } }"""


async def test_owner_id_gives_that_owners_section_only(gql):
    """The mobile "Environments owned by ..." screen reads one owner's section."""
    alice, bob, carol = [await sign_up(gql, n) for n in ("alice", "bob", "carol")]
    ivy = await sign_up(gql, "ivy")
    for owner in (alice, bob):
        mid = (await invite(owner, ivy.email, shares=[{"root": True, "roleIds": [VIEWER]}]))["id"]
        (await ivy.gql(ACCEPT_BY_ID, id=mid)).ok("acceptInvitation")
    env = """mutation($n: String!) { createEnvironment(input: { name: $n }) { errors { code } } }"""
    (await bob.gql(env, n="bobs-app")).ok("createEnvironment")

    only_bob = (await ivy.gql(ONE_SECTION, owner=bob.id)).data["sharedWithMe"]
    assert only_bob == [{"owner": {"id": bob.id}, "environments": [{"name": "bobs-app"}]}]
    everyone = (await ivy.gql(ONE_SECTION, owner=None)).data["sharedWithMe"]
    assert sorted(s["owner"]["id"] for s in everyone) == sorted([alice.id, bob.id])
    for stranger in (carol.id, "not-an-id"):  # no membership, or no such id: no section
        r = await ivy.gql(ONE_SECTION, owner=stranger)
        assert r.errors == [] and r.data["sharedWithMe"] == []
