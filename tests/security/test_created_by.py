"""Issue 19, finding 12: `Environment.createdBy` showed one collaborator's email to another.

The creator's email is shown to the environment's owner and to the creator; any other
collaborator sees the same `AccountRef` (id, display name) with `email: null`.
"""

from __future__ import annotations

from tests.utils.accounts import sign_up
from tests.utils.members import FULL_ACCESS, active_member

CREATE = """mutation($owner: ID!) {
  createEnvironment(input: { name: "made-by-ada", ownerId: $owner }) {
    environment { id } errors { code } } }"""
CREATED_BY = """query($id: ID!) {
  environment(id: $id) { id createdBy { id email displayName } } }"""
SHARED = """{ sharedWithMe { environments { id createdBy { id email displayName } } } }"""


async def test_only_the_owner_and_the_creator_see_the_creators_email(gql):
    owner = await sign_up(gql, "Olga Owner")
    ada = await sign_up(gql, "Ada Admin")
    bob = await sign_up(gql, "Bob Viewer")
    root = [{"root": True, "roleIds": [FULL_ACCESS]}]
    await active_member(owner, ada, shares=root, accountRole="ADMIN")
    await active_member(owner, bob, shares=root)
    r = await ada.gql(CREATE, owner=owner.id)
    env_id = r.ok("createEnvironment")["environment"]["id"]

    full = {"id": ada.id, "email": ada.email, "displayName": "Ada Admin"}
    for viewer in (owner, ada):
        found = (await viewer.gql(CREATED_BY, id=env_id)).data["environment"]
        assert found["createdBy"] == full
    found = (await bob.gql(CREATED_BY, id=env_id)).data["environment"]
    assert found["createdBy"] == {**full, "email": None}
    # The same through "Shared with me", where collaborators usually meet it.
    [section] = (await bob.gql(SHARED)).data["sharedWithMe"]
    [shown] = [e for e in section["environments"] if e["id"] == env_id]
    assert shown["createdBy"] == {**full, "email": None}
    [section] = (await ada.gql(SHARED)).data["sharedWithMe"]
    [shown] = [e for e in section["environments"] if e["id"] == env_id]
    assert shown["createdBy"] == full
