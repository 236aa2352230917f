"""Hostile documents are refused before anything runs; the dashboard's real queries fit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate

from domain.accounts import BAD_LOGIN  # noqa: F401  (the module the limits guard)
from infra.settings import Settings
from models import Account
from schema.document_shape import shape_refusal
from schema.limits import _fixed_rules, cost_rule, input_rule
from schema.root import schema
from tests.authz.helpers import add_to_group, create_env, create_group, share
from tests.utils.accounts import sign_up
from tests.utils.members import VIEWER, active_member

ENV = "id name displayName status owner { id } createdBy { id } groups { id name } myPolicies"
# The dashboard's largest real queries: "Shared with me" as a three-level tree, "Shared by
# me" with every share, and one page of the audit log.
SHARED_WITH_ME_TREE = f"""{{ sharedWithMe {{
  owner {{ id displayName email }} member {{ id status accountRole }} canCreateEnvironments
  environments {{ {ENV} }}
  groups {{ id name environments {{ {ENV} }}
    children {{ id name environments {{ {ENV} }}
      children {{ id name environments {{ {ENV} }} }} }} }} }} }}"""
MEMBERS_WITH_SHARES = """{ members {
  id email displayName accountRole status invitedAt acceptedAt account { id }
  shares { id expiresAt roles { id name }
    target { __typename ... on Environment { id name } ... on EnvironmentGroup { id name }
             ... on EnvironmentsRoot { owner { id } } } } } }"""
AUDIT_PAGE = """{ auditLog(first: 200) {
  edges { cursor node { id at actor { id email } action outcome targetType targetId } }
  pageInfo { hasNextPage endCursor } } }"""
CYCLE = "query($id: ID!) { environment(id: $id) { groups { environments { groups { environments { groups { environments { groups { environments { id } } } } } } } } } }"
SIGN_UP = """mutation($email: String!) { signUp(email: $email, password: "long enough pass") {
  token errors { code } } }"""


def limit_of(body: dict) -> list[tuple[str, str]]:
    return [(e["extensions"]["code"], e["extensions"].get("limit")) for e in body["errors"]]


async def test_the_dashboards_largest_queries_fit_the_default_limits(gql):
    owner = await sign_up(gql, "Owner")
    member = await sign_up(gql, "Member")
    top = await create_group(owner, "top")
    mid = await create_group(owner, "mid", top)
    leaf = await create_group(owner, "leaf", mid)
    env = await create_env(owner, "web-1")
    await add_to_group(owner, env["id"], leaf)
    await active_member(owner, member, shares=[share(VIEWER, group=top)])
    r = await member.gql(SHARED_WITH_ME_TREE)
    assert not r.errors, r.errors
    [section] = r.data["sharedWithMe"]
    assert section["groups"][0]["children"][0]["children"][0]["environments"][0]["id"] == env["id"]
    for query in (MEMBERS_WITH_SHARES, AUDIT_PAGE):
        r = await owner.gql(query)
        assert not r.errors, r.errors


WEB_SOURCES = Path(__file__).parents[2] / "web" / "src"


def dashboard_documents() -> dict[str, str]:
    """Every operation the dashboard sends (`graphql(`...`)` in web/src), with the fragments
    it may spread."""
    sources = [
        match
        for path in sorted(WEB_SOURCES.rglob("*.ts*"))
        if "gql" not in path.relative_to(WEB_SOURCES).parts  # codegen output
        for match in re.findall(r"graphql\(\s*`([^`]*)`", path.read_text())
    ]
    definitions = [d for source in sources for d in parse(source).definitions]
    fragments = "\n".join(s for s in sources if s.lstrip().startswith("fragment"))
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) > 30 and any(isinstance(d, FragmentDefinitionNode) for d in definitions)
    return {
        str(op.name.value if op.name else "?"): f"{source}\n{fragments}"
        for source in sources
        if not source.lstrip().startswith("fragment")
        for op in parse(source).definitions
        if isinstance(op, OperationDefinitionNode)
    }


def test_every_dashboard_document_fits_the_default_limits():
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    rules = [
        *_fixed_rules(settings.MAX_QUERY_DEPTH, settings.MAX_QUERY_ALIASES),
        cost_rule(settings.MAX_QUERY_COST, settings.QUERY_LIST_WEIGHT, {}),
        input_rule(settings.MAX_INPUT_LIST, settings.MAX_INPUT_STRING, {}),
    ]
    documents = dashboard_documents()
    assert "SharedWithMe" in documents
    refused = {
        name: [e.message for e in errors]
        for name, text in documents.items()
        if (
            errors := validate(
                schema._schema, parse(text, max_tokens=settings.MAX_QUERY_TOKENS), rules
            )
        )
    }
    assert refused == {}
    # Nor do the size and repeat checks made before validation refuse any of them (each
    # document here carries every fragment: the ones it does not spread are left out).
    shapes = {
        name: error.message
        for name, text in documents.items()
        if (error := shape_refusal(parse(text), settings.MAX_QUERY_SELECTIONS,
                                   settings.MAX_REPEATED_FIELDS)[0]) is not None
        and "is never used" not in error.message
    }  # fmt: skip
    assert shapes == {}


async def test_the_group_cycle_is_cut_by_cost(gql):
    owner = await sign_up(gql, "Owner")
    env = await create_env(owner, "web-1")
    await add_to_group(owner, env["id"], await create_group(owner, "g"))
    r = await owner.gql(CYCLE, id=env["id"])
    assert r.status == 200 and "data" in r.body and r.data == {}
    assert limit_of(r.body) == [("VALIDATION", "cost")]


async def test_depth_aliases_and_tokens_are_refused_before_execution(gql, http):
    deep = "{ environmentGroups { " + "parent { " * 10 + "id" + " }" * 10 + " } }"
    assert limit_of((await gql(deep)).body) == [("VALIDATION", "depth")]
    aliases = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(31)) + " }"
    assert limit_of((await gql(aliases)).body) == [("VALIDATION", "aliases")]
    many_tokens = "{ " + "me { id } " * 2000 + "}"
    assert limit_of((await gql(many_tokens)).body) == [("VALIDATION", "tokens")]
    # A refused mutation did nothing: the account it would have created does not exist.
    email = "refused@collab.example"
    heavy = SIGN_UP.replace("token errors", " ".join(f"t{i}: token" for i in range(40)) + " errors")
    assert limit_of((await gql(heavy, email=email)).body) == [("VALIDATION", "aliases")]
    assert not await Account.exists(email=email)


async def test_huge_bodies_get_413_before_parsing(gql, http):
    attack = "{ " + "me { id } " * 100_000 + "}"  # the 100,000-alias document, ~1 MB
    r = await http.post("/graphql", json={"query": attack})
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "VALIDATION"

    # Without a Content-Length, the body is counted as it arrives.
    async def chunks():
        for _ in range(200):
            yield b" " * 1000

    r = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_input_lists_and_strings_are_capped(gql):
    owner = await sign_up(gql, "Owner")
    invite = """mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
      member { id } errors { code } } }"""
    shares = [{"root": True, "roleIds": [VIEWER]}] * 101
    r = await owner.gql(invite, input={"email": "x@collab.example", "shares": shares})
    assert limit_of(r.body) == [("VALIDATION", "input")]
    literal = "{ members(status: [" + ", ".join(["ACTIVE"] * 101) + "]) { id } }"
    assert limit_of((await owner.gql(literal)).body) == [("VALIDATION", "input")]
    for bad in ("x" * 20_000, "nul\x00byte"):
        r = await owner.gql(invite, input={"email": "y@collab.example", "displayName": bad})
        assert limit_of(r.body) == [("VALIDATION", "input")], bad
    raw = json.dumps(
        {
            "query": invite,
            "variables": {"input": {"email": "s@collab.example", "displayName": "SURROGATE"}},
        }
    ).replace("SURROGATE", "lone \\ud800 one")
    r = await owner.gql.http.post(
        "/graphql",
        content=raw,
        headers={"content-type": "application/json", "authorization": f"Bearer {owner.token}"},
    )
    assert limit_of(r.json()) == [("VALIDATION", "input")]
    assert (await owner.gql("{ members { id } }")).data["members"] == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"hello", "application/json"), (b'{"query": ', "application/json"),
     (b"{ me { id } }", "text/plain"), (b'[{"query": "{ me { id } }"}]', "application/json"),
     (b'{"query": 5}', "application/json"), (b'{"query": "{ me { id } }", "variables": 3}',
                                             "application/json")],
)  # fmt: skip
async def test_malformed_requests_get_a_clean_4xx(http, body, content_type):
    r = await http.post("/graphql", content=body, headers={"content-type": content_type})
    assert 400 <= r.status_code < 500, r.text
    assert "Traceback" not in r.text


async def test_dates_out_of_range_are_validation_errors(gql):
    owner = await sign_up(gql, "Owner")
    q = """mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
      member { id } errors { code } } }"""
    share_input = {"root": True, "roleIds": [VIEWER], "expiresAt": "9999-12-31T23:59:59-12:00"}
    r = await owner.gql(q, input={"email": "d@collab.example", "shares": [share_input]})
    codes = r.codes() or [e["code"] for e in r.data["inviteMember"]["errors"]]
    assert codes == ["VALIDATION"], r.body


async def test_slow_requests_are_stopped_with_a_timeout_code(app_factory):
    http = await app_factory(REQUEST_TIMEOUT_SECONDS=0.000001)
    r = await http.post("/graphql", json={"query": "{ me { id } }"},
                        headers={"authorization": "Bearer nope"})  # fmt: skip
    assert r.status_code == 504
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "TIMEOUT" and error["extensions"]["requestId"]
    json.dumps(error)


async def test_a_repeated_document_is_validated_once(gql) -> None:
    """The limits read the variables, yet the same document with the same variables is
    validated once: each request validating anew cost the dashboard its validation cache."""
    from schema.validation import RESULTS

    owner = await sign_up(gql, "Owner")
    fresh = owner.gql.as_(owner.token)
    fresh.headers["Cache-Control"] = "no-cache"  # computed each time, not the answer cache
    query = "query Repeated { me { id email } environments { id name } }"
    await fresh(query)
    before = RESULTS.cache_info()
    for _ in range(3):
        assert (await fresh(query)).errors == []
    after = RESULTS.cache_info()
    assert after.hits - before.hits == 3 and after.misses == before.misses
