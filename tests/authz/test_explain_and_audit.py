"""explainAccess, shareEnvironment, Environment.collaborators and the audit log."""

from __future__ import annotations

from tests.authz.helpers import (
    ERRORS,
    FULL_ACCESS,
    LIMITED_ACCESS,
    SHARE_ENV,
    SUSPEND,
    VIEWER,
    active_member,
    create_env,
    create_group,
    expire_shares,
    my_policies,
    share,
)
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient

GRANT = "share { id target { __typename } } role { name } policies"
EXPLAIN = f"""
query($m: ID!, $e: ID!) {{ explainAccess(memberId: $m, environmentId: $e) {{
  policies level reason grants {{ {GRANT} }} outranked {{ {GRANT} }} }} }}"""
COLLABORATORS = """query($id: ID!) { environment(id: $id) {
  collaborators { member { id email } roles { name } inherited } } }"""
AUDIT = """
query($filter: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id at actor { id email } action outcome targetType targetId } }
    pageInfo { hasNextPage endCursor } } }"""
ACT = f"""mutation($id: ID!, $action: String!) {{
  runEnvironmentAction(id: $id, action: $action) {{ environment {{ id }} {ERRORS} }} }}"""


async def test_explain_access(gql: GraphQLClient) -> None:
    owner, bob, other = [await sign_up(gql, n) for n in ("owner", "bob", "other")]
    group = await create_group(owner, "g")
    env = (await create_env(owner, "app", groupId=group))["id"]
    plain = (await create_env(owner, "plain"))["id"]
    member = await active_member(owner, bob, shares=[
        share(VIEWER, env=env), share(FULL_ACCESS, group=group), share(LIMITED_ACCESS, root=True),
    ])  # fmt: skip

    x = (await owner.gql(EXPLAIN, m=member, e=env)).data["explainAccess"]
    assert x["level"] == "DIRECT" and x["reason"] is None
    assert [g["role"]["name"] for g in x["grants"]] == ["Viewer"]
    assert x["grants"][0]["share"]["target"]["__typename"] == "Environment"
    assert sorted(g["role"]["name"] for g in x["outranked"]) == ["Full access", "Limited access"]
    assert x["policies"] == ["env.view", "logs.view", "stats.view"]

    x = (await owner.gql(EXPLAIN, m=member, e=plain)).data["explainAccess"]
    assert x["level"] == "ROOT" and [g["role"]["name"] for g in x["grants"]] == ["Limited access"]

    # Why access is empty: suspended, then (re-activated) every share expired.
    (await owner.gql(SUSPEND, id=member)).ok("suspendMember")
    x = (await owner.gql(EXPLAIN, m=member, e=env)).data["explainAccess"]
    assert x["policies"] == [] and x["reason"] == "SUSPENDED"
    activate = "mutation($id: ID!) { activateMember(id: $id) { errors { code } } }"
    (await owner.gql(activate, id=member)).ok("activateMember")
    await expire_shares(member)
    x = (await owner.gql(EXPLAIN, m=member, e=env)).data["explainAccess"]
    assert x == {"policies": [], "level": "NONE", "reason": "SHARE_EXPIRED", "grants": [],
                 "outranked": []}  # fmt: skip

    # Owner only; bad or foreign ids are NOT_FOUND, never a crash.
    for who, m, e in ((bob, member, env), (other, member, env), (owner, "zzz", env),
                      (owner, member, "zzz")):  # fmt: skip
        r = await who.gql(EXPLAIN, m=m, e=e)
        assert r.data["explainAccess"] is None and r.codes() == ["NOT_FOUND"]


async def test_share_environment_and_collaborators(gql: GraphQLClient) -> None:
    owner, bob, carol, other = [await sign_up(gql, n) for n in ("owner", "bob", "carol", "o")]
    group = await create_group(owner, "g")
    env = (await create_env(owner, "app", groupId=group))["id"]
    bob_id = await active_member(owner, bob)
    carol_id = await active_member(owner, carol, shares=[share(VIEWER, group=group)])
    foreign = await active_member(other, carol)

    r = await owner.gql(SHARE_ENV, e=env, grants=[
        {"memberId": bob_id, "roleIds": [LIMITED_ACCESS, VIEWER]},
        {"memberId": carol_id, "roleIds": [FULL_ACCESS]},
    ])  # fmt: skip
    r.ok("shareEnvironment")
    assert "access.ftp" in (await my_policies(bob, env) or set())
    assert "access.ssh" in (await my_policies(carol, env) or set())

    seen = (await owner.gql(COLLABORATORS, id=env)).data["environment"]["collaborators"]
    assert [(c["member"]["id"], c["inherited"]) for c in seen] == [(bob_id, False),
                                                                   (carol_id, False)]  # fmt: skip
    assert {r["name"] for r in seen[0]["roles"]} == {"Limited access", "Viewer"}

    # An empty roleIds removes the direct share: carol falls back to the group's Viewer.
    (await owner.gql(SHARE_ENV, e=env, grants=[{"memberId": carol_id, "roleIds": []}])).ok(
        "shareEnvironment"
    )
    seen = (await owner.gql(COLLABORATORS, id=env)).data["environment"]["collaborators"]
    assert {c["member"]["id"]: c["inherited"] for c in seen} == {bob_id: False, carol_id: True}
    assert (await bob.gql(COLLABORATORS, id=env)).data["environment"]["collaborators"] == []

    # Refusals, all checked before anything is written.
    bad = [
        ({"memberId": foreign, "roleIds": [VIEWER]}, "NOT_FOUND"),
        ({"memberId": "nope", "roleIds": [VIEWER]}, "NOT_FOUND"),
        ({"memberId": bob_id, "roleIds": ["nope"]}, "NOT_FOUND"),
    ]
    for grant, code in bad:
        r = await owner.gql(SHARE_ENV, e=env, grants=[{"memberId": carol_id,
                            "roleIds": [FULL_ACCESS]}, grant])  # fmt: skip
        assert [e["code"] for e in r.payload("shareEnvironment")["errors"]] == [code]
    assert "access.ssh" not in (await my_policies(carol, env) or set())
    r = await bob.gql(SHARE_ENV, e=env, grants=[{"memberId": bob_id, "roleIds": [FULL_ACCESS]}])
    assert [e["code"] for e in r.payload("shareEnvironment")["errors"]] == ["FORBIDDEN"]


async def test_audit_log(gql: GraphQLClient) -> None:
    owner, bob, stranger = [await sign_up(gql, n) for n in ("owner", "bob", "stranger")]
    env = (await create_env(owner, "app"))["id"]
    other_env = (await create_env(owner, "other"))["id"]
    await active_member(owner, bob, shares=[share(LIMITED_ACCESS, env=env)])
    for action in ("deploy.vcs", "access.ssh", "config.edit", "topology.edit"):
        await bob.gql(ACT, id=env, action=action)
    await bob.gql(ACT, id=other_env, action="deploy.vcs")
    await stranger.gql(ACT, id=env, action="deploy.vcs")  # not a member: not audited

    def rows(r: object) -> list[tuple[str, str]]:
        edges = r.data["auditLog"]["edges"]  # type: ignore[attr-defined]
        return [(e["node"]["action"], e["node"]["outcome"]) for e in edges]

    mine = {"actorId": bob.id}
    assert rows(await owner.gql(AUDIT, filter=mine)) == [  # newest first
        ("deploy.vcs", "DENIED"), ("topology.edit", "DENIED"), ("config.edit", "ALLOWED"),
        ("access.ssh", "DENIED"), ("deploy.vcs", "ALLOWED"), ("member.accept", "ALLOWED"),
    ]  # fmt: skip
    r = await owner.gql(AUDIT, filter={**mine, "outcome": "DENIED", "environmentId": env})
    assert rows(r) == [("topology.edit", "DENIED"), ("access.ssh", "DENIED")]
    r = await owner.gql(AUDIT, filter={"action": "config.edit"})
    node = r.data["auditLog"]["edges"][0]["node"]
    assert node["actor"] == {"id": bob.id, "email": bob.email}
    assert (node["targetType"], node["targetId"]) == ("Environment", env)
    r = await owner.gql(AUDIT, filter={**mine, "since": "2999-01-01T00:00:00+02:00"})
    assert rows(r) == []
    r = await owner.gql(AUDIT, filter={**mine, "until": "2000-01-01T00:00:00Z"})
    assert rows(r) == []

    # Cursor pagination walks every entry once, in order.
    walked, after = [], None
    while True:
        page = (await owner.gql(AUDIT, filter=mine, first=2, after=after)).data["auditLog"]
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    everything = (await owner.gql(AUDIT, filter=mine)).data["auditLog"]["edges"]
    assert walked == [e["node"]["id"] for e in everything] and len(walked) == 6

    # Owner only: others see their own (empty) log; bad input is a coded error.
    assert rows(await bob.gql(AUDIT)) == []
    assert (await bob.gql(AUDIT, first=1)).data["auditLog"]["pageInfo"]["hasNextPage"] is False
    assert (await owner.gql(AUDIT, after="bogus")).codes() == ["VALIDATION"]
    assert (await owner.gql(AUDIT, first=-1)).codes() == ["VALIDATION"]
    assert rows(await owner.gql(AUDIT, filter={"actorId": "bogus"})) == []
    assert (await gql(AUDIT)).codes() == ["UNAUTHENTICATED"]
