"""What a caller can see: sharedWithMe, environment(id), the tree; NOT_FOUND vs FORBIDDEN."""

from __future__ import annotations

from tests.authz.helpers import (
    ENVIRONMENT,
    ERRORS,
    FULL_ACCESS,
    VIEWER,
    active_member,
    create_env,
    create_group,
    share,
)
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient

SHARED = """{ sharedWithMe {
  owner { id displayName email } member { id status accountRole } canCreateEnvironments
  environments { id name }
  groups { id name children { id name environments { id } } environments { id } } } }"""
LEAK = """query($id: ID!) { environment(id: $id) { id
  groups { id parent { id } environments { id } children { id } } } }"""
MUTATIONS = {
    "startEnvironment": "mutation($id: ID!) { startEnvironment(id: $id) { %s } }",
    "stopEnvironment": "mutation($id: ID!) { stopEnvironment(id: $id) { %s } }",
    "restartNodes": "mutation($id: ID!) { restartNodes(id: $id) { %s } }",
    "deleteEnvironment": "mutation($id: ID!) { deleteEnvironment(id: $id) { %s } }",
    "cloneEnvironment": 'mutation($id: ID!) { cloneEnvironment(id: $id, name: "cl-1") { %s } }',
    "runEnvironmentAction":
        'mutation($id: ID!) { runEnvironmentAction(id: $id, action: "deploy.vcs") { %s } }',
}  # fmt: skip
BODY = f"environment {{ id }} {ERRORS}"


async def test_shared_with_me(gql: GraphQLClient) -> None:
    owner, quiet, bob = [await sign_up(gql, n) for n in ("owner", "quiet", "bob")]
    top = await create_group(owner, "top")
    child = await create_group(owner, "child", top)
    hidden = await create_group(owner, "hidden")
    in_child = (await create_env(owner, "in-child", groupId=child))["id"]
    direct = (await create_env(owner, "direct", groupId=hidden))["id"]
    secret = (await create_env(owner, "secret", groupId=hidden))["id"]
    await active_member(owner, bob, shares=[share(VIEWER, group=top), share(VIEWER, env=direct)])
    await active_member(owner, quiet)

    # One section per owner, even when nothing is shared.
    [section] = (await quiet.gql(SHARED)).data["sharedWithMe"]
    assert section["owner"]["id"] == owner.id and section["environments"] == []
    assert section["member"]["status"] == "ACTIVE" and section["groups"] == []

    [section] = (await bob.gql(SHARED)).data["sharedWithMe"]
    assert {e["name"] for e in section["environments"]} == {"in-child", "direct"}
    assert [g["id"] for g in section["groups"]] == [top]
    assert section["groups"][0]["children"] == [
        {"id": child, "name": "child", "environments": [{"id": in_child}]}
    ]

    # Walking the tree from a shared environment does not reveal unshared ones.
    env = (await bob.gql(LEAK, id=direct)).data["environment"]
    assert env == {"id": direct, "groups": []}
    assert (await bob.gql(ENVIRONMENT, id=secret)).data["environment"] is None
    assert (await owner.gql(LEAK, id=direct)).data["environment"]["groups"][0]["environments"]


async def test_refusal_codes_and_bad_ids(gql: GraphQLClient) -> None:
    owner, viewer, member, stranger = [await sign_up(gql, n) for n in ("o", "v", "m", "s")]
    env = (await create_env(owner, "app"))["id"]
    unshared = (await create_env(owner, "unshared"))["id"]
    await active_member(owner, viewer, shares=[share(VIEWER, env=env)])
    await active_member(owner, member)
    cases = [
        (viewer, env, "FORBIDDEN"),        # sees the environment
        (viewer, unshared, "FORBIDDEN"),   # sees the owner's account
        (member, env, "FORBIDDEN"),
        (stranger, env, "NOT_FOUND"),      # sees nothing: no existence leak
        (stranger, "not-an-id", "NOT_FOUND"),
        (owner, "00000000-0000-4000-8000-000000000000", "NOT_FOUND"),
    ]  # fmt: skip
    for name, doc in MUTATIONS.items():
        for user, target, code in cases:
            r = await user.gql(doc % BODY, id=target)
            assert r.status == 200 and not r.errors, (name, r.body)
            assert [e["code"] for e in r.payload(name)["errors"]] == [code], (name, code)
    r = await owner.gql(MUTATIONS["runEnvironmentAction"].replace("deploy.vcs", "fly") % BODY,
                        id=env)  # fmt: skip
    assert [e["code"] for e in r.payload("runEnvironmentAction")["errors"]] == ["VALIDATION"]
    for bad in ("", "x", "00000000-0000-4000-8000-000000000000"):
        r = await owner.gql(ENVIRONMENT, id=bad)
        assert r.errors == [] and r.data["environment"] is None
    assert (await gql(ENVIRONMENT, id=env)).codes() == ["UNAUTHENTICATED"]


async def test_owner_actions_change_the_environment(gql: GraphQLClient) -> None:
    owner, bob = await sign_up(gql, "owner"), await sign_up(gql, "bob")
    group = await create_group(owner, "g")
    env = (await create_env(owner, "app", groupId=group, displayName="The app"))["id"]
    await active_member(owner, bob, shares=[share(FULL_ACCESS, group=group)])
    status = f"environment {{ id name status displayName groups {{ id }} }} {ERRORS}"
    r = await bob.gql(MUTATIONS["stopEnvironment"] % status, id=env)
    assert r.ok("stopEnvironment")["environment"]["status"] == "STOPPED"
    r = await owner.gql(MUTATIONS["cloneEnvironment"] % status, id=env)
    copy = r.ok("cloneEnvironment")["environment"]
    assert copy["status"] == "RUNNING" and copy["groups"] == [{"id": group}]
    assert copy["name"] == "cl-1" and copy["displayName"] == "The app"
    r = await owner.gql(MUTATIONS["deleteEnvironment"] % status, id=env)
    assert r.ok("deleteEnvironment")["environment"]["status"] == "DELETED"
    assert (await bob.gql(ENVIRONMENT, id=env)).data["environment"] is None
    r = await owner.gql(MUTATIONS["startEnvironment"] % status, id=env)
    assert [e["code"] for e in r.payload("startEnvironment")["errors"]] == ["INVALID_STATE"]
    names = {e["name"] for e in (await owner.gql("{ environments { name } }")).data["environments"]}
    assert names == {"cl-1"}


async def test_a_foreign_environment_costs_what_a_random_id_costs(gql) -> None:
    """Same answer and the same database work, so timing tells nothing either."""
    import logging
    import uuid

    from tests.utils.accounts import sign_up

    owner, stranger = await sign_up(gql, "owner"), await sign_up(gql, "stranger")
    env = (
        await owner.gql("""mutation { createEnvironment(input: { name: "secret-app" }) {
        environment { id } errors { code } } }""")
    ).ok("createEnvironment")["environment"]["id"]
    fresh = stranger.gql.as_(stranger.token)
    fresh.headers["Cache-Control"] = "no-cache"
    query = "query($id: ID!) { environment(id: $id) { id } }"

    class Count(logging.Handler):
        statements = 0

        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().lstrip().upper().startswith("SELECT"):
                Count.statements += 1

    db_log = logging.getLogger("tortoise.db_client")
    handler, level = Count(), db_log.level
    db_log.addHandler(handler)
    db_log.setLevel(logging.DEBUG)
    try:
        counts, answers = [], []
        for target in (env, str(uuid.uuid4())):
            Count.statements = 0
            answers.append((await fresh(query, id=target)).data)
            counts.append(Count.statements)
    finally:
        db_log.removeHandler(handler)
        db_log.setLevel(level)
    assert answers == [{"environment": None}, {"environment": None}]
    assert counts[0] == counts[1]
