"""Accounts, log-in, unauthenticated access, IDs, platform token, health endpoints."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.utils.accounts import PASSWORD, SIGN_UP

from .helpers import ERR, SET_KIND, codes, env, platform, sign_up, uniq, verification_token

LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token account { id email } errors { code message field } }
}"""
ME = "{ me { id email displayName kind trialEndsAt } }"
POLICIES = "{ policies { code description } }"
REPORT_ALERT = f"""
mutation($e: ID!, $m: String!) {{
  reportLoadAlert(environmentId: $e, message: $m) {{ environment {{ id name }} {ERR} }}
}}"""
REPORT_SCALING = f"""
mutation($e: ID!, $m: String!) {{
  reportScalingEvent(environmentId: $e, message: $m) {{ environment {{ id name }} {ERR} }}
}}"""

CATALOGUE = {
    "env.view", "env.start", "env.stop", "env.delete", "env.clone", "env.create",
    "nodes.restart", "deploy.archive", "deploy.vcs", "access.ftp", "access.ssh",
    "scaling.vertical", "topology.edit", "nodes.password_reset",
    "scaling.horizontal.configure", "scaling.horizontal.notify",
    "scaling.horizontal.history", "config.edit", "logs.view", "stats.view",
    "domains.manage", "ssl.manage",
}  # fmt: skip


def parse(ts: str) -> datetime:
    d = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    assert d.tzinfo is not None, f"date without a time zone: {ts}"
    return d


async def test_sign_up_creates_a_trial_of_14_days_and_me_answers(gql):
    email = f"Mixed.{uniq('case')}@Reserved.Example"
    r = await gql(SIGN_UP, email=email, password=PASSWORD, displayName="Ann")
    p = r.ok("signUp")
    assert p["token"]
    acc = p["account"]
    assert acc["kind"] == "TRIAL"
    ends = parse(acc["trialEndsAt"])
    delta = ends - datetime.now(UTC)
    assert timedelta(days=13, hours=23) < delta <= timedelta(days=14, minutes=1)
    me = (await gql.as_(p["token"])(ME)).data["me"]
    assert me["id"] == acc["id"] and me["kind"] == "TRIAL" and me["displayName"] == "Ann"
    assert me["email"].lower() == email.lower()
    # unique, compared case-insensitively
    again = (await gql(SIGN_UP, email=email.upper(), password=PASSWORD, displayName="B")).payload(
        "signUp"
    )
    assert again["errors"] and again["token"] is None
    # malformed email refused
    bad = (await gql(SIGN_UP, email="not-an-email", password=PASSWORD, displayName="B")).payload(
        "signUp"
    )
    assert codes(bad) == ["VALIDATION"]


async def test_log_in_wrong_email_and_wrong_password_give_the_same_answer(gql):
    u = await sign_up(gql, "login")
    ok = (await gql(LOG_IN, email=u.email.upper(), password=PASSWORD)).ok("logIn")
    assert ok["token"] and ok["account"]["id"] == u.id
    wrong_pw = (await gql(LOG_IN, email=u.email, password="wrong password!")).payload("logIn")
    wrong_email = (await gql(LOG_IN, email="nobody-" + u.email, password=PASSWORD)).payload("logIn")
    assert [e["code"] for e in wrong_pw["errors"]] == ["UNAUTHENTICATED"]
    assert wrong_pw == wrong_email
    assert wrong_pw["token"] is None and wrong_pw["account"] is None


async def test_queries_without_login_are_unauthenticated(gql):
    for q in (
        ME,
        POLICIES,
        "{ roles { id } }",
        "{ members { id } }",
        "{ environments { id } }",
        "{ environmentGroups { id } }",
        "{ sharedWithMe { owner { id } } }",
        "{ invitations { id } }",
        "{ auditLog { edges { cursor } } }",
    ):
        r = await gql(q)
        assert "UNAUTHENTICATED" in r.codes(), (q, r.body)
    # a bad bearer token is no login either
    r = await gql.as_("not-a-token")(ME)
    assert "UNAUTHENTICATED" in r.codes()
    # invitationByToken needs no login: an unknown token is simply not an invitation
    r = await gql("query($t: String!) { invitationByToken(token: $t) { id } }", t="nope")
    assert "UNAUTHENTICATED" not in r.codes()


async def test_policy_catalogue(gql):
    u = await sign_up(gql, "cat")
    got = (await u.gql(POLICIES)).data["policies"]
    assert {p["code"] for p in got} == CATALOGUE
    assert all(p["description"] for p in got)
    assert "collaborators.manage" not in {p["code"] for p in got}


async def test_ids_are_opaque_non_sequential_strings(gql):
    a = await sign_up(gql, "a")
    b = await sign_up(gql, "b")
    e1 = await env(a)
    e2 = await env(a)
    for x, y in ((a.id, b.id), (e1["id"], e2["id"])):
        assert isinstance(x, str) and x != y
        assert not re.fullmatch(r"\d+", x), x
        assert not re.fullmatch(r"\d+", y), y


async def test_platform_token_rules(gql):
    u = await sign_up(gql, "plat")
    e = await env(u)
    for headers in ({}, {"X-Platform-Token": ""}, {"X-Platform-Token": "wrong"}):
        c = u.gql.as_(u.token)
        c.headers.update(headers)
        for doc, name, kw in (
            (SET_KIND, "platformSetAccountKind", {"id": u.id, "kind": "FULL"}),
            (REPORT_ALERT, "reportLoadAlert", {"e": e["id"], "m": "hi"}),
            (REPORT_SCALING, "reportScalingEvent", {"e": e["id"], "m": "hi"}),
        ):
            p = (await c(doc, **kw)).payload(name)
            assert codes(p) == ["UNAUTHENTICATED"], (headers, name, p)
    assert (await u.gql(ME)).data["me"]["kind"] == "TRIAL"
    # with the token, no login: the platform may read the object its mutation returns
    plat = platform(gql)
    p = (await plat(SET_KIND, id=u.id, kind="FULL")).ok("platformSetAccountKind")
    assert p["account"] == {"id": u.id, "kind": "FULL", "trialEndsAt": None} or (
        p["account"]["id"] == u.id and p["account"]["kind"] == "FULL"
    )
    p = (await plat(REPORT_ALERT, e=e["id"], m="cpu high")).ok("reportLoadAlert")
    assert p["environment"]["id"] == e["id"] and p["environment"]["name"] == e["name"]
    p = (await plat(REPORT_SCALING, e=e["id"], m="scaled")).ok("reportScalingEvent")
    assert p["environment"]["id"] == e["id"]
    assert (await u.gql(ME)).data["me"]["kind"] == "FULL"


async def test_healthz_and_readyz(http):
    r = await http.get("/healthz")
    assert r.status_code == 200
    r = await http.get("/readyz")
    assert r.status_code == 200


ME_VERIFIED = "{ me { email emailVerified } }"
INVITE_ONE = f"""
mutation($email: String!) {{ inviteMember(input: {{ email: $email }}) {{ member {{ id }} {ERR} }} }}"""
VERIFY = (
    f"mutation($t: String!) {{ verifyEmail(token: $t) {{ account {{ emailVerified }} {ERR} }} }}"
)
REQUEST_RESET = f"""
mutation($email: String!) {{ requestPasswordReset(email: $email) {{ message {ERR} }} }}"""


async def test_sign_up_accounts_verify_their_email_before_inviting(gql):
    """Contract section 5, account care."""
    owner = await sign_up(gql, "fresh", verified=False)
    assert (await owner.gql(ME_VERIFIED)).data["me"]["emailVerified"] is False
    p = (await owner.gql(INVITE_ONE, email=f"{uniq('pal')}@collab.example")).payload("inviteMember")
    assert codes(p) == ["INVALID_STATE"] and p["member"] is None
    token = await verification_token(owner.id)
    assert (await gql(VERIFY, t=token)).ok("verifyEmail")["account"]["emailVerified"] is True
    (await owner.gql(INVITE_ONE, email=f"{uniq('pal')}@collab.example")).ok("inviteMember")


async def test_request_password_reset_answers_the_same_for_any_email(gql):
    owner = await sign_up(gql, "forgetful")
    known = (await gql(REQUEST_RESET, email=owner.email)).ok("requestPasswordReset")
    unknown = (await gql(REQUEST_RESET, email=f"{uniq('nobody')}@collab.example")).ok(
        "requestPasswordReset"
    )
    assert known == unknown and known["message"]
