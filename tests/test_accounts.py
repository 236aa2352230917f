"""Sign-up, log-in, sessions and `me`, through the GraphQL API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.clock import utcnow
from models import Session
from tests.utils.accounts import PASSWORD, SIGN_UP, sign_up

LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) {
    token account { id email } errors { code message field }
  }
}"""
LOG_OUT = "mutation { logOut { ok errors { code } } }"
ME = "{ me { id email displayName kind trialEndsAt } }"


async def test_sign_up_creates_a_trial_account_and_logs_in(gql):
    r = await gql(SIGN_UP, email="Alice@Collab.Example", password=PASSWORD, displayName="Alice")
    p = r.ok("signUp")
    assert p["account"]["email"] == "alice@collab.example"
    assert p["account"]["kind"] == "TRIAL"
    me = (await gql.as_(p["token"])(ME)).data["me"]
    assert me["id"] == p["account"]["id"]
    assert me["displayName"] == "Alice"
    assert me["trialEndsAt"] is not None


async def test_trial_length_follows_the_setting(gql):
    user = await sign_up(gql, "trial")
    me = (await user.gql(ME)).data["me"]
    from datetime import datetime

    ends = datetime.fromisoformat(me["trialEndsAt"])
    assert timedelta(days=13, hours=23) < ends - utcnow() <= timedelta(days=14)


async def test_email_taken_in_other_letter_case_conflicts(gql):
    await sign_up(gql, email="bob@collab.example")
    r = await gql(SIGN_UP, email="BOB@Collab.EXAMPLE", password=PASSWORD)
    assert r.payload("signUp")["errors"] == [
        {
            "code": "CONFLICT",
            "message": "An account with this email already exists",
            "field": "email",
        }
    ]
    assert r.payload("signUp")["token"] is None


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", PASSWORD, "email"),
        ("a@", PASSWORD, "email"),
        ("ok@collab.example", "short", "password"),
    ],
)
async def test_bad_sign_up_input_is_a_validation_error(gql, email, password, field):
    p = (await gql(SIGN_UP, email=email, password=password)).payload("signUp")
    assert [(e["code"], e["field"]) for e in p["errors"]] == [("VALIDATION", field)]


async def test_reserved_example_domains_are_valid_emails(gql):
    r = await gql(SIGN_UP, email="someone@corp.example", password=PASSWORD)
    assert r.ok("signUp")["account"]["email"] == "someone@corp.example"


async def test_log_in_accepts_the_email_in_any_case(gql):
    user = await sign_up(gql, email="carol@collab.example")
    p = (await gql(LOG_IN, email="CAROL@collab.example", password=PASSWORD)).ok("logIn")
    assert p["account"]["id"] == user.id
    assert (await gql.as_(p["token"])(ME)).data["me"]["id"] == user.id


async def test_wrong_password_and_unknown_email_get_the_same_answer(gql):
    await sign_up(gql, email="dave@collab.example")
    wrong = (await gql(LOG_IN, email="dave@collab.example", password="nope-nope")).payload("logIn")
    unknown = (await gql(LOG_IN, email="nobody@collab.example", password="nope-nope")).payload(
        "logIn"
    )
    assert wrong["errors"] == unknown["errors"]
    assert wrong["errors"][0]["code"] == "UNAUTHENTICATED"
    assert wrong["token"] is None


async def test_repeated_failed_log_ins_are_rate_limited(gql):
    await sign_up(gql, email="eve@collab.example")
    codes = []
    for _ in range(12):
        p = (await gql(LOG_IN, email="eve@collab.example", password="wrong-pass")).payload("logIn")
        codes.append(p["errors"][0]["code"])
    assert codes[0] == "UNAUTHENTICATED"
    assert codes[-1] == "RATE_LIMITED"
    # Even the right password is refused while the limit holds.
    p = (await gql(LOG_IN, email="eve@collab.example", password=PASSWORD)).payload("logIn")
    assert p["errors"][0]["code"] == "RATE_LIMITED"


async def test_me_without_a_login_is_unauthenticated(gql):
    r = await gql(ME)
    assert r.data["me"] is None
    assert r.codes() == ["UNAUTHENTICATED"]


async def test_a_garbage_token_is_not_a_login(gql):
    r = await gql.as_("not-a-token")(ME)
    assert r.codes() == ["UNAUTHENTICATED"]


async def test_log_out_revokes_the_token(gql):
    user = await sign_up(gql, "frank")
    assert (await user.gql(LOG_OUT)).ok("logOut")["ok"] is True
    assert (await user.gql(ME)).codes() == ["UNAUTHENTICATED"]


async def test_expired_token_no_longer_logs_in(gql):
    user = await sign_up(gql, "grace")
    await Session.filter(account_id=user.id).update(expires_at=utcnow() - timedelta(seconds=1))
    assert (await user.gql(ME)).codes() == ["UNAUTHENTICATED"]


async def test_tokens_are_stored_hashed(gql):
    user = await sign_up(gql, "heidi")
    hashes = await Session.filter(account_id=user.id).values_list("token_hash", flat=True)
    assert user.token not in hashes
    assert len(hashes) == 1 and len(hashes[0]) == 64


async def test_passwords_are_stored_with_argon2(gql):
    from models import Account

    user = await sign_up(gql, "ivan")
    account = await Account.get(id=user.id)
    assert account.password_hash.startswith("$argon2")
    assert PASSWORD not in account.password_hash
