"""auditLog and explainAccess."""

from __future__ import annotations

from datetime import datetime

from .helpers import (
    CREATE_ROLE,
    DELETE_ENV,
    FULL_ACCESS,
    LIMITED_ACCESS,
    LIMITED_P,
    STOP,
    SUSPEND,
    VIEWER,
    VIEWER_P,
    active_member,
    add,
    codes,
    env,
    group,
    invite,
    set_shares,
    sign_up,
)

AUDIT = """query($f: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $f, first: $first, after: $after) {
    edges { cursor node { id at actor { id email } action outcome targetType targetId } }
    pageInfo { hasNextPage endCursor } } }"""
EXPLAIN = """query($m: ID!, $e: ID!) { explainAccess(memberId: $m, environmentId: $e) {
  policies level reason
  grants { share { id target { __typename ... on Environment { id } ... on EnvironmentGroup { id }
                               ... on EnvironmentsRoot { owner { id } } } }
           role { id name } policies }
  outranked { share { id target { __typename ... on Environment { id }
                                   ... on EnvironmentGroup { id } } } role { id name } policies } } }"""


async def nodes(u, **kw):
    r = await u.gql(AUDIT, **kw)
    assert r.errors == [], r.errors
    return [e["node"] for e in r.data["auditLog"]["edges"]]


async def test_audit_records_sharing_changes_and_collaborator_actions(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e = await env(owner)
    mid = await active_member(
        owner, pal, shares=[{"environmentId": e["id"], "roleIds": [LIMITED_ACCESS]}]
    )
    (await pal.gql(STOP, id=e["id"])).ok("stopEnvironment")
    p = (await pal.gql(DELETE_ENV, id=e["id"])).payload("deleteEnvironment")
    assert codes(p) == ["FORBIDDEN"]
    log = await nodes(owner)
    actions = [(n["action"], n["outcome"]) for n in log]
    assert ("member.invite", "ALLOWED") in actions
    # newest first: the denial is the latest entry, the stop right before it
    assert log[0]["action"] == "env.delete" and log[0]["outcome"] == "DENIED"
    assert log[0]["actor"] == {"id": pal.id, "email": pal.email}
    assert log[0]["targetId"] == e["id"]
    assert log[1]["action"] == "env.stop" and log[1]["outcome"] == "ALLOWED"
    assert log[1]["targetId"] == e["id"] and log[1]["targetType"]
    inv = next(n for n in log if n["action"] == "member.invite")
    assert inv["actor"]["id"] == owner.id and inv["targetId"] == mid
    ats = [datetime.fromisoformat(n["at"].replace("Z", "+00:00")) for n in log]
    assert ats == sorted(ats, reverse=True)
    assert all(a.tzinfo is not None for a in ats)
    # owner only: the member's own log holds none of this
    assert all(n["targetId"] != e["id"] for n in await nodes(pal))
    # filters
    got = await nodes(owner, f={"outcome": "DENIED"})
    assert [n["action"] for n in got] == ["env.delete"]
    got = await nodes(owner, f={"actorId": pal.id})
    assert {n["actor"]["id"] for n in got} == {pal.id} and len(got) >= 2
    got = await nodes(owner, f={"action": "env.stop"})
    assert [n["action"] for n in got] == ["env.stop"]
    got = await nodes(owner, f={"environmentId": e["id"]})
    assert {n["action"] for n in got} >= {"env.stop", "env.delete"}
    assert all(n["targetId"] == e["id"] or n["targetType"] for n in got)
    future = "2999-01-01T00:00:00+00:00"
    assert await nodes(owner, f={"since": future}) == []
    assert await nodes(owner, f={"until": "2000-01-01T00:00:00+00:00"}) == []
    assert len(await nodes(owner, f={"until": future})) == len(log)
    since = log[1]["at"]
    assert [n["id"] for n in await nodes(owner, f={"since": since})][:2] == [
        log[0]["id"],
        log[1]["id"],
    ]


async def test_audit_relay_pagination(gql):
    owner = await sign_up(gql, "Owner")
    for i in range(5):
        await invite(owner, f"p{i}@corp.example")
    full = await nodes(owner)
    assert len(full) >= 5
    seen, after = [], None
    while True:
        r = (await owner.gql(AUDIT, first=2, after=after)).data["auditLog"]
        assert len(r["edges"]) <= 2
        seen += [e["node"]["id"] for e in r["edges"]]
        if r["edges"]:
            assert r["pageInfo"]["endCursor"] == r["edges"][-1]["cursor"]
        if not r["pageInfo"]["hasNextPage"]:
            break
        after = r["pageInfo"]["endCursor"]
    assert seen == [n["id"] for n in full]


async def test_audit_only_for_a_logged_in_caller(gql):
    r = await gql(AUDIT)
    assert "UNAUTHENTICATED" in r.codes() and r.data.get("auditLog") is None


async def test_explain_levels_grants_and_outranked(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    g = await group(owner)
    e_direct, e_group, e_root = await env(owner), await env(owner), await env(owner)
    await add(owner, e_direct["id"], g)
    await add(owner, e_group["id"], g)
    mid = await active_member(owner, pal)
    m = await set_shares(owner, mid, [
        {"root": True, "roleIds": [FULL_ACCESS]},
        {"groupId": g, "roleIds": [LIMITED_ACCESS]},
        {"environmentId": e_direct["id"], "roleIds": [VIEWER]},
    ])  # fmt: skip
    share_of = {s["target"]["__typename"]: s["id"] for s in m["shares"]}

    x = (await owner.gql(EXPLAIN, m=mid, e=e_direct["id"])).data["explainAccess"]
    assert x["level"] == "DIRECT" and set(x["policies"]) == VIEWER_P and x["reason"] is None
    assert [(gr["share"]["id"], gr["role"]["id"]) for gr in x["grants"]] == [
        (share_of["Environment"], VIEWER)]  # fmt: skip
    assert set(x["grants"][0]["policies"]) == VIEWER_P
    assert {(o["share"]["id"], o["role"]["id"]) for o in x["outranked"]} == {
        (share_of["EnvironmentGroup"], LIMITED_ACCESS),
        (share_of["EnvironmentsRoot"], FULL_ACCESS),
    }

    x = (await owner.gql(EXPLAIN, m=mid, e=e_group["id"])).data["explainAccess"]
    assert x["level"] == "GROUP" and set(x["policies"]) == LIMITED_P
    assert [gr["share"]["id"] for gr in x["grants"]] == [share_of["EnvironmentGroup"]]
    assert [o["share"]["id"] for o in x["outranked"]] == [share_of["EnvironmentsRoot"]]

    x = (await owner.gql(EXPLAIN, m=mid, e=e_root["id"])).data["explainAccess"]
    assert x["level"] == "ROOT" and x["outranked"] == []
    assert [gr["share"]["target"] for gr in x["grants"]] == [
        {"__typename": "EnvironmentsRoot", "owner": {"id": owner.id}}]  # fmt: skip

    # suspended: empty with a reason
    (await owner.gql(SUSPEND, id=mid)).ok("suspendMember")
    x = (await owner.gql(EXPLAIN, m=mid, e=e_root["id"])).data["explainAccess"]
    assert x["policies"] == [] and x["reason"] == "SUSPENDED"


async def test_explain_none_reasons_and_owner_only(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    e, e2 = await env(owner), await env(owner)
    mid = await active_member(owner, pal, shares=[{"environmentId": e2["id"], "roleIds": [VIEWER]}])
    x = (await owner.gql(EXPLAIN, m=mid, e=e["id"])).data["explainAccess"]
    assert x == {"policies": [], "level": "NONE", "reason": "NO_SHARE", "grants": [],
                 "outranked": []}  # fmt: skip
    pending = await invite(owner, "later@corp.example",
                           shares=[{"environmentId": e["id"], "roleIds": [VIEWER]}])  # fmt: skip
    x = (await owner.gql(EXPLAIN, m=pending["id"], e=e["id"])).data["explainAccess"]
    assert x["policies"] == [] and x["reason"] == "NOT_ACTIVE"
    # not the owner: no answer
    r = await pal.gql(EXPLAIN, m=mid, e=e2["id"])
    assert r.data.get("explainAccess") is None and r.errors
    stranger = await sign_up(gql, "Stranger")
    r = await stranger.gql(EXPLAIN, m=mid, e=e2["id"])
    assert r.data.get("explainAccess") is None and r.errors
    assert "FORBIDDEN" not in r.codes()  # no existence leak for a stranger


async def test_explain_merges_groups(gql):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    r = await owner.gql(CREATE_ROLE, input={"name": "ssh", "policies": ["access.ssh"]})
    ssh = r.ok("createRole")["role"]["id"]
    g1, g2 = await group(owner), await group(owner)
    e = await env(owner)
    await add(owner, e["id"], g1)
    await add(owner, e["id"], g2)
    mid = await active_member(owner, pal, shares=[
        {"groupId": g1, "roleIds": [VIEWER]}, {"groupId": g2, "roleIds": [ssh]}])  # fmt: skip
    x = (await owner.gql(EXPLAIN, m=mid, e=e["id"])).data["explainAccess"]
    assert x["level"] == "GROUP" and set(x["policies"]) == VIEWER_P | {"access.ssh"}
    assert {gr["role"]["id"] for gr in x["grants"]} == {VIEWER, ssh}
