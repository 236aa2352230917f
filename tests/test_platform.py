"""Billing's `platformSetAccountKind`, behind the X-Platform-Token header."""

from __future__ import annotations

import pytest

from tests.conftest import PLATFORM_TOKEN
from tests.utils.accounts import sign_up

SET_KIND = """
mutation($id: ID!, $kind: AccountKind!, $ends: DateTime) {
  platformSetAccountKind(accountId: $id, kind: $kind, trialEndsAt: $ends) {
    account { id kind trialEndsAt } errors { code field }
  }
}"""


@pytest.mark.parametrize("header", [None, "", "wrong-token"])
async def test_platform_mutation_needs_the_platform_token(gql, header):
    user = await sign_up(gql, "billing")
    client = gql.as_(user.token)  # a user's login is not the platform's token
    if header is not None:
        client.headers["X-Platform-Token"] = header
    p = (await client(SET_KIND, id=user.id, kind="FULL")).payload("platformSetAccountKind")
    assert p["errors"] == [{"code": "UNAUTHENTICATED", "field": None}]
    me = (await user.gql("{ me { kind } }")).data["me"]
    assert me["kind"] == "TRIAL"


async def test_platform_upgrades_a_trial_to_full(gql):
    user = await sign_up(gql, "upgrade")
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    p = (await platform(SET_KIND, id=user.id, kind="FULL")).ok("platformSetAccountKind")
    assert p["account"] == {"id": user.id, "kind": "FULL", "trialEndsAt": None}
    assert (await user.gql("{ me { kind } }")).data["me"]["kind"] == "FULL"


async def test_platform_unknown_account_is_not_found(gql):
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    for bad in ["00000000-0000-4000-8000-000000000000", "nonsense"]:
        p = (await platform(SET_KIND, id=bad, kind="FULL")).payload("platformSetAccountKind")
        assert p["errors"][0]["code"] == "NOT_FOUND"


BUILTIN_START = """
mutation($id: ID!) { startEnvironment(id: $id) {
  environment { status busy lastOperation { action status error { code } finishedAt } } errors { code }
} }"""


async def test_the_builtin_backend_ends_each_operation_at_once(gql):
    """PAAS_BACKEND=builtin (the default): no platform, no waiting; linking and the push
    are accepted and change nothing."""
    owner = await sign_up(gql, "builtin")
    r = await owner.gql(
        'mutation { createEnvironment(input: { name: "shop" }) { environment { id busy '
        "lastOperation { action status } } errors { code } } }"
    )
    env = r.ok("createEnvironment")["environment"]
    assert env["busy"] is False
    assert env["lastOperation"] == {"action": "env.create", "status": "SUCCEEDED"}
    p = (await owner.gql(BUILTIN_START, id=env["id"])).ok("startEnvironment")["environment"]
    assert p["busy"] is False and p["status"] == "RUNNING"
    assert p["lastOperation"]["action"] == "env.start"
    assert p["lastOperation"]["status"] == "SUCCEEDED" and p["lastOperation"]["finishedAt"]
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    link = """mutation($id: ID!) { platformLinkAccount(accountId: $id, platformUid: "u-b") {
      account { platformUid } errors { code } } }"""
    assert (await platform(link, id=owner.id)).ok("platformLinkAccount")["account"] == {
        "platformUid": "u-b"
    }
    changed = 'mutation { platformEnvironmentsChanged(platformUid: "u-b") }'
    assert (await platform(changed)).data == {"platformEnvironmentsChanged": True}
