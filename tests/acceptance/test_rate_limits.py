"""Rate limits: token guesses (per address) and invitations (per owner)."""

from __future__ import annotations

import pytest

from tests.utils.members import INVITE

from .helpers import ACCEPT, codes, sign_up


@pytest.fixture(scope="module")
def database_url(sqlite_database: str) -> str:
    """Rate limits live in Redis: one database is enough."""
    return sqlite_database


async def test_invitations_are_capped_per_owner(gql):
    owner = await sign_up(gql, "Owner")
    other = await sign_up(gql, "Other")
    got = []
    for i in range(102):
        p = (await owner.gql(INVITE, input={"email": f"x{i}@corp.example"})).payload("inviteMember")
        got.append(tuple(codes(p)))
    assert got[0] == () and got[-1] == ("RATE_LIMITED",)
    # per owner: another owner is not affected
    p = (await other.gql(INVITE, input={"email": "x0@corp.example"})).payload("inviteMember")
    assert codes(p) == []


async def test_token_guesses_are_capped(gql, http):
    got = []
    for i in range(40):
        p = (await gql(ACCEPT, token=f"guess-{i}")).payload("acceptInvitation")
        got.append(codes(p)[0])
    assert got[0] == "INVALID_TOKEN" and got[-1] == "RATE_LIMITED"
    assert set(got) == {"INVALID_TOKEN", "RATE_LIMITED"}
    assert (await http.get("/invitations/another-guess")).status_code == 429
