"""Generated operations (hypothesis-graphql) against the real ASGI app, as an owner and a member.

Any 5xx, any error without one of the contract's codes, and any answer that does not fit
the schema for the document sent fails. Valid documents and documents with one schema
violation (negative mode) are both sent; the number of examples is bounded so the whole
module runs in seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries
from hypothesis_graphql import nodes as gql_nodes
from redis import Redis
from starlette.testclient import TestClient

from domain.errors import ErrorCode
from gateway.app import create_app
from schema.root import schema
from tests.conftest import make_settings
from tests.utils import databases
from tests.utils.accounts import PASSWORD, emailed_verification_token

CONTRACT_CODES = {code.value for code in ErrorCode}
SCHEMA: graphql.GraphQLSchema = schema._schema
FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


@dataclass
class Fuzzed:
    client: TestClient
    owner: str
    member: str
    ids: list[str]


def post(client: TestClient, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def ok(client: TestClient, query: str, token: str | None = None, **variables: Any) -> Any:
    body = post(client, query, token, **variables).json()
    assert not body.get("errors"), body
    (payload,) = body["data"].values()
    assert not payload.get("errors"), payload
    return payload


def verify_email(client: TestClient, database_url: str, account_id: str) -> None:
    """Follows the emailed verification link through `verifyEmail` (no worker runs here:
    the token is still in the outbox row); owners must be verified to invite."""
    token = emailed_verification_token(database_url, account_id)
    ok(client, "mutation($t: String!) { verifyEmail(token: $t) { errors { code } } }", t=token)


@pytest.fixture(scope="module")
def fuzzed(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    database_url = databases.sqlite_url(tmp_path_factory.mktemp("fuzz"))
    databases.migrate(database_url)
    prefix = f"collab-test:{uuid.uuid4().hex[:12]}"
    app = create_app(make_settings(database_url, redis_url, prefix))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            sign_up = """mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) {
              token account { id email } errors { code } } }"""
            owner = ok(client, sign_up, e="fuzz-owner@collab.example", p=PASSWORD)
            member = ok(client, sign_up, e="fuzz-member@collab.example", p=PASSWORD)
            for account in (owner, member):
                verify_email(client, database_url, account["account"]["id"])
            env = ok(client, """mutation { createEnvironment(input: { name: "fuzz-env" }) {
              environment { id } errors { code } } }""", owner["token"])  # fmt: skip
            group = ok(client, """mutation { createEnvironmentGroup(name: "fuzz") {
              environmentGroup { id } errors { code } } }""", owner["token"])  # fmt: skip
            invited = ok(client, """mutation($e: String!) { inviteMember(input: { email: $e,
              shares: [{ root: true, roleIds: ["51bbb782-5152-4b9b-8bfc-7b8d280c922d"] }] }) {
              member { id } errors { code } } }""", owner["token"], e=member["account"]["email"])  # fmt: skip
            ok(client, "mutation($id: ID) { acceptInvitation(id: $id) { errors { code } } }",
               member["token"], id=invited["member"]["id"])  # fmt: skip
            ids = [env["environment"]["id"], group["environmentGroup"]["id"],
                   invited["member"]["id"], owner["account"]["id"], member["account"]["id"]]  # fmt: skip
            yield Fuzzed(client, owner["token"], member["token"], ids)
    finally:
        redis = Redis.from_url(redis_url)
        keys = list(redis.scan_iter(f"{prefix}:*", count=10_000))
        if keys:
            redis.delete(*keys)
        redis.close()


def scalars(ids: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    known = st.sampled_from(ids) | st.uuids().map(str) | st.text(max_size=40)
    moments = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.text(
        max_size=30
    )
    return {
        "ID": known.map(gql_nodes.String),
        "DateTime": moments.map(gql_nodes.String),
        "JSON": st.just(gql_nodes.String("{}")),
    }


# -- what a well-formed answer is ---------------------------------------------------


def _error_paths(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(e.get("path") or ()) for e in body.get("errors") or ()]


def _check(
    value: Any, type_: graphql.GraphQLOutputType, node: graphql.FieldNode,
    path: tuple[Any, ...], errors: list[tuple[Any, ...]], fragments: dict[str, Any],
) -> None:  # fmt: skip
    errored = any(p[: len(path)] == path for p in errors)
    if isinstance(type_, graphql.GraphQLNonNull):
        assert value is not None or errored, f"null at non-null {path}"
        type_ = type_.of_type
    if value is None:
        return
    if isinstance(type_, graphql.GraphQLList):
        assert isinstance(value, list), f"not a list at {path}"
        for i, item in enumerate(value):
            _check(item, type_.of_type, node, (*path, i), errors, fragments)
        return
    if isinstance(type_, graphql.GraphQLEnumType):
        assert value in type_.values, f"{value!r} is not a {type_.name} at {path}"
        return
    if isinstance(type_, graphql.GraphQLScalarType):
        return
    assert isinstance(value, dict), f"not an object at {path}"
    concrete = SCHEMA.get_type(value["__typename"]) if "__typename" in value else type_
    _check_selection(value, concrete, node.selection_set, path, errors, fragments)


def _check_selection(
    data: dict[str, Any], parent: Any, selection_set: Any, path: tuple[Any, ...],
    errors: list[tuple[Any, ...]], fragments: dict[str, Any],
) -> None:  # fmt: skip
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, graphql.FieldNode):
            key = (selection.alias or selection.name).value
            if selection.name.value == "__typename":
                continue
            if not isinstance(parent, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
                continue
            assert key in data, f"{key} missing at {path}"
            field = parent.fields[selection.name.value]
            _check(data[key], field.type, selection, (*path, key), errors, fragments)
        elif isinstance(selection, graphql.InlineFragmentNode):
            condition = selection.type_condition
            target = SCHEMA.get_type(condition.name.value) if condition else parent
            if (
                isinstance(parent, graphql.GraphQLObjectType)
                and target is not parent
                and not (
                    isinstance(target, (graphql.GraphQLInterfaceType, graphql.GraphQLUnionType))
                )
            ):
                continue  # a fragment on another member of a union
            _check_selection(data, parent, selection.selection_set, path, errors, fragments)


def check_answer(query: str, response: Any) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body, dict), body
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        assert code in CONTRACT_CODES, error
    data = body.get("data")
    if data is None:
        return
    document = graphql.parse(query)
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, graphql.FragmentDefinitionNode)}  # fmt: skip
    operation = next(d for d in document.definitions
                     if isinstance(d, graphql.OperationDefinitionNode))  # fmt: skip
    root = SCHEMA.get_root_type(operation.operation)
    _check_selection(data, root, operation.selection_set, (), _error_paths(body), fragments)


# logOut would end the fuzzing caller's own session (and with it every later example).
MUTATIONS = sorted(set(SCHEMA.mutation_type.fields) - {"logOut"})  # type: ignore[union-attr]


def operations(ids: list[str], mode: str) -> st.SearchStrategy[str]:
    options: dict[str, Any] = {
        "custom_scalars": scalars(ids), "allow_x00": True, "codec": None,
        "mode": Mode.POSITIVE if mode == "valid" else Mode.NEGATIVE,
    }  # fmt: skip
    return queries(SCHEMA, **options) | mutations(SCHEMA, fields=MUTATIONS, **options)  # type: ignore[return-value]


@pytest.mark.parametrize("who", ["owner", "member"])
def test_generated_operations_get_well_formed_answers(fuzzed: Fuzzed, who: str):
    token = getattr(fuzzed, who)

    @FUZZ
    @given(query=operations(fuzzed.ids, "valid"))
    def run(query: str) -> None:
        check_answer(query, post(fuzzed.client, query, token))

    run()


def test_operations_that_break_the_schema_get_validation_errors(fuzzed: Fuzzed):
    @FUZZ
    @given(query=operations(fuzzed.ids, "invalid"))
    def run(query: str) -> None:
        response = post(fuzzed.client, query, fuzzed.owner)
        check_answer(query if _parses(query) else "{ __typename }", response)
        body = response.json()
        if body.get("errors") and body.get("data") is None:
            assert {e["extensions"]["code"] for e in body["errors"]} <= CONTRACT_CODES

    run()


def _parses(query: str) -> bool:
    try:
        graphql.parse(query)
    except graphql.GraphQLError:
        return False
    return True


@given(
    email=st.text(max_size=300), name=st.text(max_size=300),
    ident=st.text(max_size=100) | st.uuids().map(str),
)  # fmt: skip
@FUZZ
def test_odd_text_in_emails_names_and_ids_gets_clean_answers(fuzzed: Fuzzed, email, name, ident):
    mutation = """mutation($e: String!, $n: String, $id: ID!) {
      inviteMember(input: { email: $e, displayName: $n }) { member { id } errors { code } }
      renameEnvironmentGroup(id: $id, name: $n) { errors { code } } }"""
    response = post(fuzzed.client, mutation, fuzzed.owner, e=email, n=name or "x", id=ident)
    check_answer(mutation, response)
    response = post(fuzzed.client, "query($id: ID!) { environment(id: $id) { id } }",
                    fuzzed.member, id=ident)  # fmt: skip
    check_answer("query($id: ID!) { environment(id: $id) { id } }", response)
