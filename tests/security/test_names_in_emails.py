"""Names carry no line breaks or text-direction controls, into the database or an email.

Issue 19, finding 9: `Your bank\\u202e: verify at ... \\r\\nBcc: a@b.c` as a display name
reached the invitation's text body verbatim, `Bcc:` on a line of its own, and the subject
kept the right-to-left override. Every place a user names something refuses such a name
with a typed VALIDATION error, and the emails show names as quoted data, cleaned again at
render time (a row written before the check injects nothing either).
"""

from __future__ import annotations

import uuid

import pytest

from domain.errors import DomainError
from domain.user_text import check_name, plain, quoted
from models import Account, Environment, EnvironmentGroup, Member, Role
from tests.utils.accounts import PASSWORD, sign_up
from tests.utils.members import invitation_token, invite

HOSTILE = "Your bank\u202e: verify at https://evil.example/login … \r\nBcc: a@b.c"
# One of each kind: a line break, a tab, a bidi override and isolate, a line separator,
# a C1 control (NEL), DEL, a left-to-right mark.
REFUSED = ["Olga\r\nBcc: a@b.c", "Olga\nOwner", "Olga\tOwner", "Olga\u202eOwner",
           "Olga\u2067Owner", "Olga\u2028Owner", "Olga\x85Owner", "Olga\x7fOwner",
           "Olga\u200eOwner"]  # fmt: skip
ACCEPTED = ["Olga Owner", "Ольга", "أولغا", "李小龍", "O'Brien & Co", "👩‍💻 Olga", "Zoë-Ann"]

ERR = "errors { code field }"
SIGN_UP = f"""mutation($email: String!, $name: String) {{
  signUp(email: $email, password: "{PASSWORD}", displayName: $name) {{ token {ERR} }} }}"""
SIGN_UP_INVITED = f"""mutation($token: String!, $name: String) {{
  signUpWithInvitation(token: $token, password: "{PASSWORD}", displayName: $name) {{
    token {ERR} }} }}"""
INVITE = f"""mutation($email: String!, $name: String) {{
  inviteMember(input: {{ email: $email, displayName: $name }}) {{ member {{ id }} {ERR} }} }}"""
INVITE_MANY = f"""mutation($email: String!, $name: String) {{
  inviteMembers(inputs: [{{ email: $email, displayName: $name }}]) {{ member {{ id }} {ERR} }} }}"""
UPDATE_MEMBER = f"""mutation($id: ID!, $name: String) {{
  updateMember(id: $id, input: {{ displayName: $name }}) {{ member {{ id }} {ERR} }} }}"""
COPY_MEMBER = f"""mutation($id: ID!, $email: String!, $name: String) {{
  copyMember(id: $id, email: $email, displayName: $name) {{ member {{ id }} {ERR} }} }}"""
CREATE_ENV = f"""mutation($env: String!, $name: String) {{
  createEnvironment(input: {{ name: $env, displayName: $name }}) {{ environment {{ id }} {ERR} }} }}"""
CREATE_ROLE = f"""mutation($name: String!) {{
  createRole(input: {{ name: $name, policies: ["env.view"] }}) {{ role {{ id }} {ERR} }} }}"""
UPDATE_ROLE = f"""mutation($id: ID!, $name: String!) {{
  updateRole(id: $id, input: {{ name: $name, policies: ["env.view"] }}) {{ role {{ id }} {ERR} }} }}"""
CREATE_GROUP = f"""mutation($name: String!) {{
  createEnvironmentGroup(name: $name) {{ environmentGroup {{ id }} {ERR} }} }}"""
RENAME_GROUP = f"""mutation($id: ID!, $name: String!) {{
  renameEnvironmentGroup(id: $id, name: $name) {{ environmentGroup {{ id }} {ERR} }} }}"""


@pytest.mark.parametrize("name", REFUSED)
def test_names_with_controls_or_direction_characters_are_refused(name):
    with pytest.raises(DomainError) as refused:
        check_name(name, "displayName")
    assert refused.value.code.value == "VALIDATION" and refused.value.field == "displayName"


@pytest.mark.parametrize("name", ACCEPTED)
def test_names_in_any_script_are_kept_as_typed(name):
    assert check_name(name, "displayName") == name and plain(name) == name


def test_rendering_cleans_what_the_check_would_have_refused():
    assert plain(HOSTILE) == "Your bank: verify at https://evil.example/login … Bcc: a@b.c"
    assert quoted('Olga” wrote: "pay now" “') == "“Olga' wrote: 'pay now' '”"
    assert quoted("x" * 50, limit=10) == f"“{'x' * 9}…”"


def uniq(prefix: str = "n") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_every_mutation_that_sets_a_name_refuses_a_hostile_one(gql):
    """Each refusal is VALIDATION on the name's field, and nothing was written."""
    owner = await sign_up(gql, "Olga Owner")
    member = await invite(owner, f"{uniq('m')}@collab.example", displayName="Mia")
    role = owner_role = (await owner.gql(CREATE_ROLE, name="Deployers")).ok("createRole")
    group = (await owner.gql(CREATE_GROUP, name="Production")).ok("createEnvironmentGroup")
    pending = await invite(owner, invited := f"{uniq('i')}@collab.example")
    token = await invitation_token(pending["id"])
    before = {
        "accounts": await Account.all().count(), "members": await Member.all().count(),
        "environments": await Environment.all().count(), "roles": await Role.all().count(),
        "groups": await EnvironmentGroup.all().count(),
    }  # fmt: skip

    for name in ("Your bank\u202e: verify", HOSTILE, "Olga\u2066Owner"):
        attempts = [
            ("signUp", gql, SIGN_UP, {"email": f"{uniq()}@collab.example"}, "displayName"),
            ("signUpWithInvitation", gql, SIGN_UP_INVITED, {"token": token}, "displayName"),
            ("inviteMember", owner.gql, INVITE, {"email": f"{uniq()}@collab.example"},
             "displayName"),
            ("updateMember", owner.gql, UPDATE_MEMBER, {"id": member["id"]}, "displayName"),
            ("copyMember", owner.gql, COPY_MEMBER,
             {"id": member["id"], "email": f"{uniq()}@collab.example"}, "displayName"),
            ("createEnvironment", owner.gql, CREATE_ENV, {"env": uniq("env")}, "displayName"),
            ("createRole", owner.gql, CREATE_ROLE, {}, "name"),
            ("updateRole", owner.gql, UPDATE_ROLE, {"id": role["role"]["id"]}, "name"),
            ("createEnvironmentGroup", owner.gql, CREATE_GROUP, {}, "name"),
            ("renameEnvironmentGroup", owner.gql, RENAME_GROUP,
             {"id": group["environmentGroup"]["id"]}, "name"),
        ]  # fmt: skip
        for mutation, client, document, variables, field in attempts:
            r = await client(document, name=name, **variables)
            assert r.payload(mutation)["errors"] == [{"code": "VALIDATION", "field": field}], (
                mutation, name,
            )  # fmt: skip
        r = await owner.gql(INVITE_MANY, email=f"{uniq()}@collab.example", name=name)
        assert r.payload("inviteMembers")[0]["errors"] == [
            {"code": "VALIDATION", "field": "displayName"}
        ]

    after = {
        "accounts": await Account.all().count(), "members": await Member.all().count(),
        "environments": await Environment.all().count(), "roles": await Role.all().count(),
        "groups": await EnvironmentGroup.all().count(),
    }  # fmt: skip
    assert after == before
    assert (await Member.get(id=member["id"])).display_name == "Mia"
    assert (await Member.get(id=pending["id"])).status.value == "PENDING"
    assert not await Account.exists(email=invited)
    assert (await Role.get(id=owner_role["role"]["id"])).name == "Deployers"
    assert (await EnvironmentGroup.get(id=group["environmentGroup"]["id"])).name == "Production"
