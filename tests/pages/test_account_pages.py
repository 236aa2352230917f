"""The password-reset and verification pages over HTTP: CSRF, token checks, guess limit."""

from __future__ import annotations

import re

import httpx

from models import Account, OutboxJob
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient

REQUEST_RESET = """
mutation($email: String!) { requestPasswordReset(email: $email) { errors { code } } }"""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _reset_token(gql: GraphQLClient) -> tuple[str, str]:
    user = await sign_up(gql, "Paige")
    (await gql(REQUEST_RESET, email=user.email)).ok("requestPasswordReset")
    row = await OutboxJob.get(job="password_reset_email")
    return user.id, str(row.payload["token"])


async def test_reset_form_refuses_a_post_without_its_csrf_token(
    gql: GraphQLClient, http: httpx.AsyncClient, app: object
) -> None:
    account_id, token = await _reset_token(gql)
    before = (await Account.get(id=account_id)).password_hash
    path = f"/account/reset-password/{token}"
    forged = await http.post(path, data={"password": "attacker chose this"})
    assert forged.status_code == 403 and "nothing was changed" in forged.text
    # A signature minted for another page does not work here either.
    page = await http.get(path)
    (csrf,) = CSRF.findall(page.text)
    verify_like = await http.post(path.replace("reset-password", "verify-email"),
                                  data={"csrf_token": csrf})  # fmt: skip
    assert verify_like.status_code == 403
    other_cookie = httpx.AsyncClient(transport=http._transport, base_url=str(http.base_url))
    async with other_cookie:
        stolen = await other_cookie.post(path, data={"csrf_token": csrf, "password": "x" * 12})
    assert stolen.status_code == 403
    assert (await Account.get(id=account_id)).password_hash == before
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["set-cookie"].lower().count("httponly") == 1


async def test_guessed_links_are_404_then_rate_limited(
    http: httpx.AsyncClient, app: object
) -> None:
    statuses = [(await http.get(f"/account/verify-email/guess-{i}")).status_code for i in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429
    limited = await http.get("/account/reset-password/another-guess")
    assert limited.status_code == 429 and limited.headers["retry-after"]
