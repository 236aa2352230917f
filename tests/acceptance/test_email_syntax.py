"""Email: "checked for syntax only (no DNS look-up; reserved domains such as *.example are valid)"."""

from __future__ import annotations

import uuid

import pytest

from tests.utils.accounts import PASSWORD, SIGN_UP
from tests.utils.members import INVITE

from .helpers import codes, sign_up

VALID = [
    "first.last+tag@sub.domain.example",
    "someone@corp.test",
    "someone@example.org",
    "o'brien@example.com",
]
# RFC 2606 / RFC 6761 reserved and special-use names: syntactically valid addresses.
RESERVED = ["someone@host.invalid", "someone@machine.localhost", "someone@printer.local"]


async def check_accepted(gql, email):
    local, domain = email.split("@")
    unique = f"{local}.{uuid.uuid4().hex[:6]}@{domain}"
    p = (await gql(SIGN_UP, email=unique, password=PASSWORD, displayName="X")).payload("signUp")
    assert codes(p) == [], (unique, p["errors"])
    owner = await sign_up(gql, "Owner")
    p = (await owner.gql(INVITE, input={"email": "inv." + unique})).payload("inviteMember")
    assert codes(p) == [], (unique, p["errors"])


@pytest.mark.parametrize("email", VALID)
async def test_valid_emails_accepted(gql, email):
    await check_accepted(gql, email)


@pytest.mark.parametrize("email", RESERVED)
async def test_reserved_special_use_domains_accepted(gql, email):
    await check_accepted(gql, email)
