"""inviteMembers: one inviteMember per input, in order, each with its own transaction,
errors, rate-limit count and (sent by the real worker over real SMTP) invitation email."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from infra.settings import Settings
from models import AuditEntry, InvitationToken, Member, OutboxJob
from tests.conftest import make_settings
from tests.utils.accounts import sign_up
from tests.utils.members import ERRORS, MEMBER_FIELDS, VIEWER, invite
from tests.workers.conftest import LINK, make_environment, parts

INVITE_MEMBERS = f"""
mutation($inputs: [InviteMemberInput!]!) {{
  inviteMembers(inputs: $inputs) {{ member {{ {MEMBER_FIELDS} }} {ERRORS} }}
}}"""
INVITE_ONE = f"""
mutation($input: InviteMemberInput!) {{
  inviteMember(input: $input) {{ member {{ id }} {ERRORS} }}
}}"""
MEMBERS = "{ members { email status } }"


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(
    database_url: str, redis_url: str, redis_prefix: str, extra_settings: dict[str, Any]
) -> Settings:
    return make_settings(database_url, redis_url, redis_prefix, **extra_settings)


def codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_each_input_gets_its_own_payload_in_order_and_each_success_one_email(
    gql, mailbox, start_worker
):
    owner = await sign_up(gql, "Bulk Owner")
    env = await make_environment(owner.id, "shop-prod")
    await invite(owner, "already@collab.example")  # has an open invitation
    inputs = [
        {"email": "First@Collab.Example", "displayName": "First"},
        {"email": "not an email"},
        {"email": owner.email},
        {"email": "already@collab.example"},
        {"email": "second@collab.example", "accountRole": "ADMIN",
         "shares": [{"environmentId": env, "roleIds": [VIEWER]}]},
        {"email": "first@collab.example"},  # the first input of this batch, again
        {"email": "ghost-share@collab.example",
         "shares": [{"environmentId": str(uuid.uuid4()), "roleIds": [VIEWER]}]},
        {"email": "third@collab.example", "shares": [{"root": True, "roleIds": [VIEWER]}]},
    ]  # fmt: skip
    async with start_worker():
        r = await owner.gql(INVITE_MEMBERS, inputs=inputs)
        payloads = r.payload("inviteMembers")
        await mailbox.wait_for(4)
        await asyncio.sleep(0.5)  # nothing else is on its way

    assert [p["member"]["email"] if p["member"] else None for p in payloads] == [
        "first@collab.example", None, None, None, "second@collab.example", None, None,
        "third@collab.example",
    ]  # fmt: skip
    assert [codes(p) for p in payloads] == [
        [], [("VALIDATION", "email")], [("VALIDATION", "email")], [("CONFLICT", "email")], [],
        [("CONFLICT", "email")], [("NOT_FOUND", "shares[0].environmentId")], [],
    ]  # fmt: skip
    second = payloads[4]["member"]
    assert second["status"] == "PENDING" and second["accountRole"] == "ADMIN"
    assert [s["target"] for s in second["shares"]] == [{"__typename": "Environment", "id": env}]
    assert payloads[7]["member"]["shares"][0]["target"]["__typename"] == "EnvironmentsRoot"

    # A refused input wrote nothing: no member, token, audit entry or job of its own.
    listed = (await owner.gql(MEMBERS)).data["members"]
    assert sorted(m["email"] for m in listed) == [
        "already@collab.example", "first@collab.example", "second@collab.example",
        "third@collab.example",
    ]  # fmt: skip
    assert not await Member.exists(email="ghost-share@collab.example")
    assert await InvitationToken.all().count() == 4
    assert await AuditEntry.filter(action="member.invite").count() == 4

    # One invitation per success (and the earlier one), each with its own working link.
    assert sorted(m["To"] for m in mailbox.messages) == [
        "already@collab.example", "first@collab.example", "second@collab.example",
        "third@collab.example",
    ]  # fmt: skip
    second_mail = parts(mailbox.to("second@collab.example")[0])[0]
    assert "shop-prod" in second_mail and len(LINK.findall(second_mail)) == 1
    assert await OutboxJob.filter(job="invitation_email", status="DONE").count() == 4


async def test_a_batch_of_100_passes_every_query_limit_with_a_full_selection(gql):
    """100 is the documented maximum: as variables (with shares) and inline in the document
    (well under the token cap), with the whole member selection each."""
    owner = await sign_up(gql, "Big Batch")
    inputs = [{"email": f"bulk-{i:03}@collab.example", "displayName": f"Bulk {i}",
               "shares": [{"root": True, "roleIds": [VIEWER]}]} for i in range(100)]  # fmt: skip
    r = await owner.gql(INVITE_MEMBERS, inputs=inputs)
    payloads = r.payload("inviteMembers")
    assert [p["member"]["email"] for p in payloads] == [i["email"] for i in inputs]
    assert all(p["errors"] == [] and len(p["member"]["shares"]) == 1 for p in payloads)
    assert await Member.filter(owner_id=owner.id).count() == 100


@pytest.mark.parametrize("extra_settings", [{"RATE_LIMIT_INVITATIONS_OWNER": "1000/hour"}])
async def test_a_batch_of_100_written_inline_fits_the_token_cap(gql):
    owner = await sign_up(gql, "Inline Batch")
    literal = ", ".join(f'{{email: "inline-{i:03}@collab.example", displayName: "I {i}"}}'
                        for i in range(100))  # fmt: skip
    document = (f"mutation {{ inviteMembers(inputs: [{literal}]) "
                f"{{ member {{ {MEMBER_FIELDS} }} {ERRORS} }} }}")  # fmt: skip
    r = await owner.gql(document)
    payloads = r.payload("inviteMembers")
    assert [p["member"]["email"] for p in payloads] == [
        f"inline-{i:03}@collab.example" for i in range(100)
    ]


@pytest.mark.parametrize(
    "extra_settings", [{}, {"MAX_INPUT_LIST": 1000}], ids=["default-limits", "raised-input-list"]
)
async def test_101_inputs_are_refused_with_a_code_and_nothing_is_written(gql, extra_settings):
    """Refused by the query limits (MAX_INPUT_LIST) or, where an operator raised those,
    by inviteMembers itself: the same code and limit either way."""
    owner = await sign_up(gql, "Too Many")
    inputs = [{"email": f"many-{i:03}@collab.example"} for i in range(101)]
    r = await owner.gql(INVITE_MEMBERS, inputs=inputs)
    assert r.data == {} and r.codes() == ["VALIDATION"]
    assert r.errors[0]["extensions"]["limit"] == "input"
    assert "100" in r.errors[0]["message"]
    assert not await Member.exists(owner_id=owner.id)
    assert not await OutboxJob.exists(job="invitation_email")
    # Nothing was counted against the invitation limit either: 100 still go through.
    r = await owner.gql(INVITE_MEMBERS, inputs=inputs[:100])
    assert all(p["errors"] == [] for p in r.payload("inviteMembers"))


@pytest.mark.parametrize("extra_settings", [{"RATE_LIMIT_INVITATIONS_OWNER": "3/hour"}])
async def test_each_item_counts_against_the_invitation_limit(gql):
    owner = await sign_up(gql, "Limited")
    inputs = [{"email": f"limit-{i}@collab.example"} for i in range(5)]
    payloads = (await owner.gql(INVITE_MEMBERS, inputs=inputs)).payload("inviteMembers")
    assert [p["member"]["email"] if p["member"] else None for p in payloads] == [
        "limit-0@collab.example", "limit-1@collab.example", "limit-2@collab.example", None, None
    ]  # fmt: skip
    assert [[e["code"] for e in p["errors"]] for p in payloads] == [
        [], [], [], ["RATE_LIMITED"], ["RATE_LIMITED"]
    ]  # fmt: skip
    assert "retry in" in payloads[3]["errors"][0]["message"]
    assert await OutboxJob.filter(job="invitation_email").count() == 3
    # The single mutation shares the same allowance.
    single = await owner.gql(INVITE_ONE, input={"email": "one-more@collab.example"})
    assert [e["code"] for e in single.payload("inviteMember")["errors"]] == ["RATE_LIMITED"]


async def test_the_same_refusals_as_invite_member_for_callers_who_may_not_invite(gql):
    inputs = [{"email": "a@collab.example"}, {"email": "b@collab.example"}]
    anonymous = (await gql(INVITE_MEMBERS, inputs=inputs)).payload("inviteMembers")
    assert [[e["code"] for e in p["errors"]] for p in anonymous] == [["UNAUTHENTICATED"]] * 2
    unverified = await sign_up(gql, "Unverified", verified=False)
    refused = (await unverified.gql(INVITE_MEMBERS, inputs=inputs)).payload("inviteMembers")
    assert [[e["code"] for e in p["errors"]] for p in refused] == [["INVALID_STATE"]] * 2
    assert not await Member.exists()
