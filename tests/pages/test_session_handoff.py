"""The invitation page's hand-off to the dashboard, over HTTP (SQLite and PostgreSQL, real
Redis): a one-time code, only for the browser that accepted, briefly (issue 19, login CSRF)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from gateway.pages.handoff import COOKIE, PATH, TTL_SECONDS, SessionHandoff
from models import Account
from tests.pages.forms import open_invitation
from tests.utils import processes
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import invitation_token, invite

INVITEE = "handed-over@collab.example"
ME = "query { me { email } }"


async def _accept(http: httpx.AsyncClient, gql: GraphQLClient) -> str:
    """Accepts an invitation as a new person in `http` (a browser); the dashboard code."""
    owner = await sign_up(gql, "Olivia Owner", email="olivia-handoff@collab.example")
    member = await invite(owner, INVITEE)
    token = await invitation_token(member["id"])
    forms = await open_invitation(http, token)
    r = await http.post(forms.accept_url, data={
        "csrf_token": forms.accept_csrf, "password": "a fine new password",
    })  # fmt: skip
    assert r.status_code == 200, r.text
    assert "#session=" not in r.text  # no bearer token in any link
    match = re.search(r'href="http://collab\.test/app/shared-with-me#handoff=([\w-]+)"', r.text)
    assert match, "the accepted page links into the dashboard with a hand-off code"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered
    assert f"path={PATH}" in lowered and f"max-age={TTL_SECONDS}" in lowered
    return match.group(1)


@pytest.fixture
async def stranger(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser: none of the first one's cookies."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://collab.test") as client:
        yield client


def _refused(r: httpx.Response, status: int, code: str, words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    (error,) = r.json()["errors"]
    assert error["extensions"]["code"] == code
    assert words in error["message"] and "Log in with your email and password" in error["message"]
    assert "token" not in r.json()


async def test_the_accepting_browser_is_logged_in_once(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    code = await _accept(http, gql)
    nonce = http.cookies.get(COOKIE)
    r = await http.post(PATH, json={"code": code})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    me = await gql.as_(r.json()["token"])(ME)
    assert me.data["me"] == {"email": INVITEE}
    assert http.cookies.get(COOKIE) is None  # the nonce cookie is cleared

    # The same code again, even with the nonce put back, is refused: it was used.
    assert nonce
    http.cookies.set(COOKIE, nonce, domain="collab.test", path=PATH)
    again = await http.post(PATH, json={"code": code})
    _refused(again, 410, "INVALID_TOKEN", "already been used or has expired")


async def test_a_code_opened_in_another_browser_is_refused_and_spent(
    http: httpx.AsyncClient, gql: GraphQLClient, stranger: httpx.AsyncClient
) -> None:
    code = await _accept(http, gql)
    # The crafted link in the victim's browser: no hand-off cookie, no session.
    r = await stranger.post(PATH, json={"code": code})
    _refused(r, 403, "FORBIDDEN", "belongs to another browser")
    # A planted cookie with a nonce of the stranger's own choosing is no better.
    code = await _accept_again(http, gql)
    stranger.cookies.set(COOKIE, "a" * 43, domain="collab.test", path=PATH)
    r = await stranger.post(PATH, json={"code": code})
    _refused(r, 403, "FORBIDDEN", "belongs to another browser")
    # A refused presentation spends the code: no retries with other nonces.
    r = await http.post(PATH, json={"code": code})
    _refused(r, 410, "INVALID_TOKEN", "already been used")


async def _accept_again(http: httpx.AsyncClient, gql: GraphQLClient) -> str:
    """A second invitation (another owner) accepted by the same person in `http`."""
    owner = await sign_up(gql, "Oscar Owner", email="oscar-handoff@collab.example")
    member = await invite(owner, INVITEE)
    forms = await open_invitation(http, await invitation_token(member["id"]))
    r = await http.post(forms.accept_url, data={
        "csrf_token": forms.accept_csrf, "password": "a fine new password",
    })  # fmt: skip
    assert r.status_code == 200, r.text
    match = re.search(r"#handoff=([\w-]+)", r.text)
    assert match
    return match.group(1)


async def test_a_code_expires(
    http: httpx.AsyncClient, gql: GraphQLClient, redis: Redis, redis_prefix: str
) -> None:
    code = await _accept(http, gql)
    (key,) = [k async for k in redis.scan_iter(f"{redis_prefix}:handoff:*")]
    assert code.encode() not in key and code.encode() not in (await redis.get(key) or b"")
    assert 0 < await redis.ttl(key) <= TTL_SECONDS
    await redis.pexpire(key, 1)  # as if a minute went by
    await asyncio.sleep(0.05)
    r = await http.post(PATH, json={"code": code})
    _refused(r, 410, "INVALID_TOKEN", "has expired")


@pytest.mark.parametrize("body", [
    {"content": "code=abc", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    {"content": "not json", "headers": {"Content-Type": "application/json"}},
    {"json": {"code": 42}},
    {"json": ["abc"]},
])  # fmt: skip
async def test_anything_but_a_json_code_is_a_clear_400(
    http: httpx.AsyncClient, body: dict[str, object]
) -> None:
    r = await http.post(PATH, **body)  # type: ignore[arg-type]
    assert r.status_code == 400, r.text
    (error,) = r.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert '{"code": "..."}' in error["message"]


async def test_unknown_codes_count_with_the_other_token_guesses(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    for i in range(30):  # RATE_LIMIT_TOKEN_ADDRESS, shared with the emailed links
        r = await http.post(PATH, json={"code": f"guess-{i}"})
        assert r.status_code == 410, r.text
    r = await http.post(PATH, json={"code": "guess-31"})
    assert r.status_code == 429
    assert r.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(r.headers["retry-after"]) > 0
    assert (await http.get("/invitations/some-token")).status_code == 429  # one budget
    assert (await http.get("/healthz")).status_code == 200


async def test_without_redis_no_code_is_issued(app: Any, gql: GraphQLClient) -> None:
    """No error: the accepted page then links to the plain dashboard (the log-in form)."""
    user = await sign_up(gql, "Ivy Invitee")
    dead = Redis.from_url(f"redis://127.0.0.1:{processes.free_port()}/0")
    try:
        handoff = SessionHandoff(app.state.services, dead)
        assert await handoff.issue(await Account.get(id=user.id)) is None
    finally:
        await dead.aclose()
