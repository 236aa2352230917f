"""Account care through the GraphQL API: passwords, sessions, verification, take-over,
and refusals that say what was missing."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import utcnow
from models import AccountToken, AuditEntry, Environment, Member, OutboxJob, Session
from tests.authz.helpers import SUSPEND, VIEWER, active_member, create_env, share
from tests.utils.accounts import PASSWORD, sign_up
from tests.utils.graphql import GraphQLClient
from tests.utils.members import invitation_token, invite

ME = "{ me { email emailVerified } }"
CHANGE = """
mutation($current: String!, $new: String!) {
  changePassword(current: $current, new: $new) { account { email } errors { code message field } }
}"""
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token errors { code } } }"""
EVERYWHERE = "mutation { logOutEverywhere { ended errors { code message } } }"
REQUEST_RESET = """
mutation($email: String!) { requestPasswordReset(email: $email) { message errors { code } } }"""
RESET = """
mutation($token: String!, $new: String!) {
  resetPassword(token: $token, newPassword: $new) { account { email emailVerified }
    errors { code message field } } }"""
VERIFY = """
mutation($token: String!) { verifyEmail(token: $token) {
  account { email emailVerified } errors { code message } } }"""
INVITATIONS = "{ invitations { id email } }"
ACCEPT = """
mutation($id: ID, $token: String) { acceptInvitation(id: $id, token: $token) {
  member { id status } errors { code message } } }"""
INVITE = """
mutation($email: String!) { inviteMember(input: { email: $email }) {
  member { id } errors { code message } } }"""
NEW = "a completely new password"


async def _log_in(gql: GraphQLClient, email: str, password: str = PASSWORD) -> str | None:
    token = (await gql(LOG_IN, email=email, password=password)).payload("logIn")["token"]
    return str(token) if token else None


async def test_change_password_ends_every_other_session(gql: GraphQLClient) -> None:
    user = await sign_up(gql, "Cam")
    other_device = gql.as_(await _log_in(gql, user.email))

    wrong = (await user.gql(CHANGE, current="not my password", new=NEW)).payload("changePassword")
    assert wrong["errors"] == [{"code": "VALIDATION", "field": "current",
                                "message": "The current password is not correct"}]  # fmt: skip
    short = (await user.gql(CHANGE, current=PASSWORD, new="short")).payload("changePassword")
    assert short["errors"][0]["field"] == "new"
    assert (await other_device(ME)).data["me"] is not None  # nothing changed yet

    (await user.gql(CHANGE, current=PASSWORD, new=NEW)).ok("changePassword")
    assert (await user.gql(ME)).data["me"]["email"] == user.email  # this session stays
    r = await other_device(ME)
    assert r.codes() == ["UNAUTHENTICATED"]
    assert r.errors[0]["message"] == "The session token is invalid or has expired; log in again"
    assert await _log_in(gql, user.email) is None
    assert await _log_in(gql, user.email, NEW)

    anonymous = (await gql(CHANGE, current=PASSWORD, new=NEW)).payload("changePassword")
    assert anonymous["errors"][0] == {"code": "UNAUTHENTICATED", "message": "Log in first",
                                      "field": None}  # fmt: skip


async def test_log_out_everywhere_and_bad_tokens_say_so(gql: GraphQLClient) -> None:
    user = await sign_up(gql, "Lou")
    second = gql.as_(await _log_in(gql, user.email))
    assert (await user.gql(EVERYWHERE)).ok("logOutEverywhere")["ended"] == 2
    for client in (user.gql, second):
        r = await client(ME)
        assert (
            r.codes() == ["UNAUTHENTICATED"] and "invalid or has expired" in r.errors[0]["message"]
        )
    # A mutation answers in its payload, with the same distinction.
    p = (await user.gql(EVERYWHERE)).payload("logOutEverywhere")
    assert p["errors"][0]["code"] == "UNAUTHENTICATED"
    assert "invalid or has expired" in p["errors"][0]["message"]
    r = await gql.as_("made-up-token")(ME)
    assert "invalid or has expired" in r.errors[0]["message"]
    expired = await sign_up(gql, "Old")
    await Session.filter(account_id=expired.id).update(expires_at=utcnow() - timedelta(seconds=1))
    r = await expired.gql(ME)
    assert r.codes() == ["UNAUTHENTICATED"] and "invalid or has expired" in r.errors[0]["message"]
    r = await gql(ME)  # no token at all
    assert r.codes() == ["UNAUTHENTICATED"] and r.errors[0]["message"] == "Log in first"


async def test_reset_password_by_token_is_single_use_and_ends_sessions(gql: GraphQLClient) -> None:
    user = await sign_up(gql, "Rae", verified=False)
    (await gql(REQUEST_RESET, email=user.email)).ok("requestPasswordReset")
    (await gql(REQUEST_RESET, email=user.email)).ok("requestPasswordReset")
    first, second = [
        j.payload["token"]
        for j in await OutboxJob.filter(job="password_reset_email").order_by("created_at")
    ]
    # Only the newest link works, tokens are stored hashed.
    assert (await gql(RESET, token=first, new=NEW)).payload("resetPassword")["errors"][0][
        "code"
    ] == "INVALID_TOKEN"
    assert not await AccountToken.exists(token_hash=second)
    p = (await gql(RESET, token=second, new=NEW)).ok("resetPassword")
    # Following a link from the inbox proves the address too.
    assert p["account"] == {"email": user.email, "emailVerified": True}
    assert (await user.gql(ME)).codes() == ["UNAUTHENTICATED"]
    assert await _log_in(gql, user.email, NEW)
    again = (await gql(RESET, token=second, new="yet another password")).payload("resetPassword")
    assert again["errors"][0]["code"] == "INVALID_TOKEN"


async def _reset_emails() -> int:
    """Outbox jobs that will email a link (a request for no account enqueues one that
    sends nothing: the same work either way)."""
    jobs = await OutboxJob.filter(job="password_reset_email")
    return sum(1 for job in jobs if job.payload.get("account_id"))


async def test_request_password_reset_same_answer_and_rate_limited(gql: GraphQLClient) -> None:
    user = await sign_up(gql, "Ray")
    known = (await gql(REQUEST_RESET, email=user.email)).ok("requestPasswordReset")
    unknown = (await gql(REQUEST_RESET, email="no-one@collab.example")).ok("requestPasswordReset")
    assert known == unknown
    assert await _reset_emails() == 1
    answers = [
        (await gql(REQUEST_RESET, email=user.email)).payload("requestPasswordReset")
        for _ in range(5)
    ]
    assert answers[-1]["errors"] == [{"code": "RATE_LIMITED"}]
    assert await _reset_emails() == 5  # 5 per hour from one address


async def test_verify_email_by_token_and_invitations_need_a_verified_email(
    gql: GraphQLClient,
) -> None:
    """The take-over: someone signs up with the invitee's email before the invitation is
    sent. Without proving the address they neither see nor accept it by id."""
    owner = await sign_up(gql, "Olivia")
    victim = "victim@collab.example"
    attacker = await sign_up(gql, "attacker", email=victim, verified=False)
    member = await invite(owner, victim)

    assert (await attacker.gql(INVITATIONS)).data["invitations"] == []
    p = (await attacker.gql(ACCEPT, id=member["id"])).payload("acceptInvitation")
    assert p["member"] is None and p["errors"][0]["code"] == "INVALID_STATE"
    assert "Verify your email address" in p["errors"][0]["message"]
    assert (await Member.get(id=member["id"])).status.value == "PENDING"

    # Proving the address (the emailed verification link) is what unlocks matching by email.
    rows = await OutboxJob.filter(job="email_verification_email")
    (token,) = [r.payload["token"] for r in rows if r.payload["account_id"] == attacker.id]
    p = (await gql(VERIFY, token=token)).ok("verifyEmail")
    assert p["account"] == {"email": victim, "emailVerified": True}
    assert (await gql(VERIFY, token=token)).payload("verifyEmail")["errors"][0]["code"] == (
        "INVALID_TOKEN"
    )
    assert [i["id"] for i in (await attacker.gql(INVITATIONS)).data["invitations"]] == [
        member["id"]
    ]


async def test_accepting_by_the_emailed_token_verifies_the_email(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, "Olivia")
    invitee = await sign_up(gql, "ivy", verified=False)
    member = await invite(owner, invitee.email)
    token = await invitation_token(member["id"])
    assert (await invitee.gql(ACCEPT, token=token)).ok("acceptInvitation")
    assert (await invitee.gql(ME)).data["me"]["emailVerified"] is True


async def test_unverified_owner_may_use_the_service_but_not_invite(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, "New", verified=False)
    assert (await owner.gql(ME)).data["me"]["emailVerified"] is False
    await create_env(owner, "first-app")  # the service works
    p = (await owner.gql(INVITE, email="friend@collab.example")).payload("inviteMember")
    assert p["errors"] == [{"code": "INVALID_STATE", "message": (
        "Verify your email address before inviting collaborators: follow the link in the "
        "verification email, or send it again with resendVerification")}]  # fmt: skip
    assert await Member.all().count() == 0


async def test_a_refused_action_names_the_policy_it_needed(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    env = (await create_env(owner, "app"))["id"]
    await active_member(owner, bob, shares=[share(VIEWER, env=env)])
    start = "mutation($id: ID!) { startEnvironment(id: $id) { errors { code message } } }"
    p = (await bob.gql(start, id=env)).payload("startEnvironment")
    assert p["errors"] == [{"code": "FORBIDDEN", "message": "Requires the policy env.start"}]
    create = """mutation($o: ID!) { createEnvironment(input: { name: "mine", ownerId: $o }) {
      errors { code message } } }"""
    p = (await bob.gql(create, o=owner.id)).payload("createEnvironment")
    assert p["errors"] == [{"code": "FORBIDDEN", "message": "Requires the policy env.create"}]
    share_env = """mutation($e: ID!) { shareEnvironment(environmentId: $e, grants: []) {
      errors { code message } } }"""
    p = (await bob.gql(share_env, e=env)).payload("shareEnvironment")
    assert p["errors"][0]["code"] == "FORBIDDEN"
    assert p["errors"][0]["message"].startswith("Requires the policy collaborators.manage")


EXPLAIN = """query($m: ID!, $e: ID!) { explainAccess(memberId: $m, environmentId: $e) {
  policies level reason grants { role { name } } outranked { role { name } }
  grantsWhenActive { role { name } } levelWhenActive policiesWhenActive } }"""


async def test_explain_access_for_a_suspended_member_lists_what_would_apply(
    gql: GraphQLClient,
) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    env = (await create_env(owner, "app"))["id"]
    member = await active_member(owner, bob, shares=[share(VIEWER, env=env)])
    active = (await owner.gql(EXPLAIN, m=member, e=env)).data["explainAccess"]
    assert active["level"] == "DIRECT" == active["levelWhenActive"]
    assert active["grantsWhenActive"] == [] and active["reason"] is None

    (await owner.gql(SUSPEND, id=member)).ok("suspendMember")
    x = (await owner.gql(EXPLAIN, m=member, e=env)).data["explainAccess"]
    assert x == {
        "policies": [], "level": "NONE", "reason": "SUSPENDED", "grants": [], "outranked": [],
        "grantsWhenActive": [{"role": {"name": "Viewer"}}], "levelWhenActive": "DIRECT",
        "policiesWhenActive": ["env.view", "logs.view", "stats.view"],
    }  # fmt: skip


AUDIT = """{ auditLog { edges { node { action actorEmail targetName targetType
  actor { email } } } } }"""


async def test_audit_entries_keep_names_as_they_were(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    env = (await create_env(owner, "shop-prod"))["id"]
    member = await active_member(owner, bob, shares=[share(VIEWER, env=env)])
    start = "mutation($id: ID!) { startEnvironment(id: $id) { errors { code } } }"
    await bob.gql(start, id=env)  # denied, audited
    # Later renames do not rewrite history.
    await Environment.filter(id=env).update(name="renamed-env")
    await Member.filter(id=member).update(email="changed@collab.example")

    nodes = [e["node"] for e in (await owner.gql(AUDIT)).data["auditLog"]["edges"]]
    by_action = {n["action"]: n for n in nodes}
    assert by_action["env.start"]["actorEmail"] == bob.email
    assert by_action["env.start"]["targetName"] == "shop-prod"
    assert by_action["member.invite"]["actorEmail"] == owner.email
    assert by_action["member.invite"]["targetName"] == bob.email
    assert by_action["member.accept"]["actorEmail"] == bob.email
    assert await AuditEntry.filter(actor_email=None, actor_id__not_isnull=True).count() == 0


RESEND = "mutation { resendVerification { account { emailVerified } errors { code } } }"


async def test_verification_links_expire_and_resends_are_capped(gql: GraphQLClient) -> None:
    user = await sign_up(gql, "Val", verified=False)
    rows = await OutboxJob.filter(job="email_verification_email")
    (token,) = [r.payload["token"] for r in rows if r.payload["account_id"] == user.id]
    await AccountToken.filter(account_id=user.id).update(expires_at=utcnow() - timedelta(seconds=1))
    p = (await gql(VERIFY, token=token)).payload("verifyEmail")
    assert p["account"] is None and p["errors"][0]["code"] == "TOKEN_EXPIRED"

    codes = [(await user.gql(RESEND)).payload("resendVerification")["errors"] for _ in range(6)]
    assert codes[:5] == [[]] * 5 and codes[5] == [{"code": "RATE_LIMITED"}]
    assert await OutboxJob.filter(job="email_verification_email").count() == 6  # 1 + 5


async def test_changing_the_password_kills_unused_reset_links(gql: GraphQLClient) -> None:
    user = await sign_up(gql, "Kit")
    (await gql(REQUEST_RESET, email=user.email)).ok("requestPasswordReset")
    token = (await OutboxJob.get(job="password_reset_email")).payload["token"]
    (await user.gql(CHANGE, current=PASSWORD, new=NEW)).ok("changePassword")
    p = (await gql(RESET, token=token, new="the attacker's pick")).payload("resetPassword")
    assert p["errors"][0]["code"] == "INVALID_TOKEN"
    assert await _log_in(gql, user.email, NEW)


async def test_wrong_current_passwords_count_as_failed_log_ins(gql: GraphQLClient) -> None:
    """Guessing through changePassword meets the log-in limits (10 per address and email)."""
    user = await sign_up(gql, "Guessed")
    for i in range(10):
        wrong = (await user.gql(CHANGE, current=f"guess {i}", new=NEW)).payload("changePassword")
        assert [e["code"] for e in wrong["errors"]] == ["VALIDATION"]
    refused = (await user.gql(CHANGE, current=PASSWORD, new=NEW)).payload("changePassword")
    assert [e["code"] for e in refused["errors"]] == ["RATE_LIMITED"]
    assert "retry in" in refused["errors"][0]["message"]
    # The same count: the right password at logIn is refused too.
    log_in = (await gql(LOG_IN, email=user.email, password=PASSWORD)).payload("logIn")
    assert log_in["token"] is None and [e["code"] for e in log_in["errors"]] == ["RATE_LIMITED"]
    other = await sign_up(gql, "Other")
    (await other.gql(CHANGE, current=PASSWORD, new=NEW)).ok("changePassword")  # per email
