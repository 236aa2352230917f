"""Invitations past their expiry (INVITATION_TTL_HOURS=0: every invitation is born expired)."""

from __future__ import annotations

import pytest

from infra.settings import Settings

from .conftest import make_settings
from .helpers import ACCEPT, REJECT, codes, invitation_token, invite, sign_up
from .test_members import SIGN_UP_INV


@pytest.fixture(scope="module")
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return make_settings(database_url, redis_url, redis_prefix, INVITATION_TTL_HOURS=0)


async def test_expired_token_is_token_expired_before_any_account_check(gql, http):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    m = await invite(owner, pal.email)
    tok = await invitation_token(m["id"])
    p = (await pal.gql(ACCEPT, token=tok)).payload("acceptInvitation")
    assert codes(p) == ["TOKEN_EXPIRED"]
    p = (await gql(REJECT, token=tok)).payload("rejectInvitation")
    assert codes(p) == ["TOKEN_EXPIRED"]
    # an account with that email exists (would be CONFLICT), but the token is checked first
    p = (await gql(SIGN_UP_INV, t=tok, p="a long password", n="x")).payload("signUpWithInvitation")
    assert codes(p) == ["TOKEN_EXPIRED"]
    # logged in with another email (would be INVALID_TOKEN for a valid token)
    stranger = await sign_up(gql, "Stranger")
    p = (await stranger.gql(ACCEPT, token=tok)).payload("acceptInvitation")
    assert codes(p) == ["TOKEN_EXPIRED"]
    p = (await pal.gql(ACCEPT, id=m["id"])).payload("acceptInvitation")
    assert codes(p) == ["TOKEN_EXPIRED"]
    r = await http.get(f"/invitations/{tok}")
    assert r.status_code == 410 and r.headers["content-type"].startswith("text/html")
    assert r.text.strip()
