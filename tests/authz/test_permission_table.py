"""Seed 000, "Permission based on environment access", row by row through the API.

Columns: the owner, a member with `Full access`, one with `Limited access`, and "No
access" twice: an ACTIVE member with no share (it can see the owner's account, so a
refusal is FORBIDDEN) and a stranger (NOT_FOUND: nothing may leak).
"""

from __future__ import annotations

import pytest

from tests.authz.helpers import (
    ERRORS,
    FULL_ACCESS,
    LIMITED_ACCESS,
    active_member,
    create_env,
    my_policies,
    share,
)
from tests.utils.accounts import User, sign_up
from tests.utils.graphql import GraphQLClient

Y, N = True, False
# row: (seed wording, policy code, Owner, Full access, Limited access, No access)
TABLE = [
    ("Start environment", "env.start", Y, Y, Y, N),
    ("Stop environment", "env.stop", Y, Y, Y, N),
    ("Restart environment nodes", "nodes.restart", Y, Y, Y, N),
    ("Deploy code: archive", "deploy.archive", Y, Y, Y, N),
    ("Deploy code: git/svn repo", "deploy.vcs", Y, Y, Y, N),
    ("FTP/FTPS access", "access.ftp", Y, Y, Y, N),
    ("SSH/SFTP access", "access.ssh", Y, Y, N, N),
    ("Adjust cloudlet limits", "scaling.vertical", Y, Y, N, N),
    ("Add/remove servers (nodes)", "topology.edit", Y, Y, N, N),
    ("Node password reset emails", "nodes.password_reset", Y, Y, N, N),
    ("Configure auto horizontal scaling", "scaling.horizontal.configure", Y, Y, N, N),
    ("Receive horizontal scaling notifications", "scaling.horizontal.notify", Y, Y, N, N),
    ("View horizontal scaling history", "scaling.horizontal.history", Y, Y, N, N),
    ("Edit server configuration files", "config.edit", Y, Y, Y, N),
    ("View server logs", "logs.view", Y, Y, Y, N),
    ("View server resource usage", "stats.view", Y, Y, Y, N),
    ("Manage domain binding", "domains.manage", Y, Y, Y, N),
    ("Manage custom SSL", "ssl.manage", Y, Y, Y, N),
    # Owner-only in the built-in roles; run last (delete ends the environment).
    ("Clone environment", "env.clone", Y, N, N, N),
    ("Delete environment", "env.delete", Y, N, N, N),
]
# "Receive load alert notifications" is the role flag, not a policy.
LOAD_ALERTS = (Y, Y, N, N)

DEDICATED = {
    "env.start": "startEnvironment", "env.stop": "stopEnvironment",
    "nodes.restart": "restartNodes", "env.delete": "deleteEnvironment",
}  # fmt: skip
ACTION = f"""
mutation($id: ID!, $action: String!) {{
  runEnvironmentAction(id: $id, action: $action) {{ environment {{ id status }} {ERRORS} }}
}}"""
CLONE = f"""
mutation($id: ID!, $name: String!) {{
  cloneEnvironment(id: $id, name: $name) {{ environment {{ id name owner {{ id }} }} {ERRORS} }}
}}"""
EXPLAIN = """
query($m: ID!, $e: ID!) { explainAccess(memberId: $m, environmentId: $e) {
  receiveLoadAlerts level policies } }"""


async def perform(gql: GraphQLClient, code: str, env_id: str, n: int) -> tuple[str, list[str]]:
    if code == "env.clone":
        r = await gql(CLONE, id=env_id, name=f"copy-{n}")
        name = "cloneEnvironment"
    elif code in DEDICATED:
        name = DEDICATED[code]
        r = await gql(f"mutation($id: ID!) {{ {name}(id: $id) {{ environment {{ id }} {ERRORS} }} }}",
                      id=env_id)  # fmt: skip
    else:
        r = await gql(ACTION, id=env_id, action=code)
        name = "runEnvironmentAction"
    return name, [e["code"] for e in r.payload(name)["errors"]]


async def test_seed_permission_table(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, "owner")
    full, limited, none, stranger = [await sign_up(gql, n) for n in
                                     ("full", "limited", "noshare", "stranger")]  # fmt: skip
    env = (await create_env(owner, "shop"))["id"]
    members = {
        "full": await active_member(owner, full, shares=[share(FULL_ACCESS, env=env)]),
        "limited": await active_member(owner, limited, shares=[share(LIMITED_ACCESS, env=env)]),
    }
    await active_member(owner, none)
    columns: list[tuple[str, User, int]] = [
        ("Owner", owner, 2), ("Full access", full, 3), ("Limited access", limited, 4),
        ("No access (member)", none, 5), ("No access (stranger)", stranger, 5),
    ]  # fmt: skip

    # What each column may do, as `myPolicies` shows it.
    for label, user, col in columns:
        expected = {row[1] for row in TABLE if row[col]}
        if col == 2:
            assert expected <= (await my_policies(user, env) or set()), label
            continue
        seen = await my_policies(user, env)
        if not expected:
            assert seen is None, label  # nothing shared: the environment is invisible
        else:
            assert seen is not None and {r[1] for r in TABLE} & seen == expected, label

    # And what each may actually run: allowed, or refused with the contract's code.
    for n, (wording, code, *allowed) in enumerate(TABLE):
        for (label, user, _col), ok in zip(reversed(columns), reversed([*allowed, allowed[-1]]),
                                          strict=True):  # fmt: skip
            mutation, codes = await perform(user.gql, code, env, n)
            if ok:
                assert codes == [], (wording, label, mutation)
            else:
                want = "NOT_FOUND" if label == "No access (stranger)" else "FORBIDDEN"
                assert codes == [want], (wording, label, mutation)

    # "Receive load alert notifications": the receiveLoadAlerts flag of the counted roles.
    for key, flag in (("full", LOAD_ALERTS[1]), ("limited", LOAD_ALERTS[2])):
        r = await owner.gql(EXPLAIN, m=members[key], e=env)
        assert r.data["explainAccess"]["receiveLoadAlerts"] is flag, key


ROLES = "{ roles { id name builtIn receiveLoadAlerts policies { code } } }"


@pytest.mark.parametrize("role,alerts", [(FULL_ACCESS, True), (LIMITED_ACCESS, False)])
async def test_built_in_roles_match_the_table(gql: GraphQLClient, role: str, alerts: bool) -> None:
    owner = await sign_up(gql, "owner")
    roles = {r["id"]: r for r in (await owner.gql(ROLES)).data["roles"]}
    col = 3 if role == FULL_ACCESS else 4
    assert {p["code"] for p in roles[role]["policies"]} == {"env.view"} | {
        row[1] for row in TABLE if row[col]
    }
    assert roles[role]["receiveLoadAlerts"] is alerts and roles[role]["builtIn"] is True
