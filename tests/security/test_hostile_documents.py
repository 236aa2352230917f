"""Hostile documents (issue 19): each is refused within a second, with a code, while the
gateway keeps answering /healthz within a second. Against the whole app in process: the
hostile request and the health checks share one event loop, as in `collab serve`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.authz.helpers import add_to_group, create_env, create_group
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient


def doubling_fragments(n: int) -> str:
    """`{...F0}`, each fragment spreading the next one twice: 2**n expansions."""
    chain = " ".join(f"fragment F{i} on Query {{...F{i + 1} ...F{i + 1}}}" for i in range(n))
    return f"{{...F0}} {chain} fragment F{n} on Query {{__typename}}"


REPEATED_ME = "{ " + "me{id} " * 400 + "}"
# Three turns of the groups <-> environments cycle: cheap by the static estimate (every
# list counted 5), 40**4 environments with 40 environments in one group.
CYCLE = """{ environments { groups { environments { groups { environments { groups {
  environments { id name } } } } } } } }"""


async def refused_while_healthy(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[httpx.Response, float]:
    """The answer to `body` and how long it took, checking meanwhile that /healthz answers
    within a second every time it is asked."""
    done = asyncio.Event()
    slowest = 0.0

    async def health() -> None:
        nonlocal slowest
        while not done.is_set():
            started = time.monotonic()
            r = await http.get("/healthz")
            slowest = max(slowest, time.monotonic() - started)
            assert r.status_code == 200
            await asyncio.sleep(0.02)

    checker = asyncio.create_task(health())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    try:
        r = await http.post("/graphql", json=body, headers=headers or {})
    finally:
        took = time.monotonic() - started
        done.set()
        await checker
    assert slowest < 1.0, f"/healthz took {slowest:.2f} s during the request"
    return r, took


def limits(r: httpx.Response) -> list[tuple[str, str | None]]:
    return [(e["extensions"]["code"], e["extensions"].get("limit")) for e in r.json()["errors"]]


@pytest.mark.parametrize("n", [22, 40])
async def test_doubling_fragments_are_refused_at_once(http, n):
    r, took = await refused_while_healthy(http, {"query": doubling_fragments(n)})
    assert took < 1.0
    assert limits(r) == [("VALIDATION", "selections")]
    assert "selections" in r.json()["errors"][0]["message"]


async def test_a_field_repeated_hundreds_of_times_is_refused_at_once(http):
    r, took = await refused_while_healthy(http, {"query": REPEATED_ME})
    assert took < 1.0
    assert limits(r) == [("VALIDATION", "selections")]
    assert "`me` is selected 400 times" in r.json()["errors"][0]["message"]
    # Repeats multiply through nesting: 10 x 10 `groups` under `environment` is 100.
    nested = "{" + " ".join(
        'environment(id: "1") {' + " groups { id }" * 10 + "}" for _ in range(10)
    ) + "}"  # fmt: skip
    r, took = await refused_while_healthy(http, {"query": nested})
    assert took < 1.0 and limits(r) == [("VALIDATION", "selections")]


async def test_a_large_valid_document_is_still_answered(gql):
    """Validated off the event loop (more than a few hundred selections), and answered."""
    owner = await sign_up(gql, "Owner")
    fields = " ".join(f"e{i}: environments {{ id name displayName status }}" for i in range(30))
    r = await owner.gql("{ " + fields + " me { id } }")
    assert not r.errors, r.errors
    assert r.data["e0"] == [] and r.data["me"]["id"] == owner.id


async def test_the_group_cycle_on_real_data_is_refused_while_the_gateway_answers(gql, http):
    owner = await sign_up(gql, "Owner")
    group = await create_group(owner, "everything")
    for i in range(40):
        env = await create_env(owner, f"env-{i}")
        await add_to_group(owner, env["id"], group)
    auth = {"authorization": f"Bearer {owner.token}", "cache-control": "no-cache"}
    r, took = await refused_while_healthy(http, {"query": CYCLE}, auth)
    assert took < 1.0, f"refused after {took:.2f} s"
    assert r.status_code == 200
    body = r.json()
    assert body["data"] is None
    # Estimated again with the real sizes (40 environments a group) as they are answered.
    assert limits(r) == [("VALIDATION", "cost")]
    assert "the sizes of your data" in body["errors"][0]["message"]
    # The gateway is fine afterwards, and one turn of the cycle is answered in full.
    one_turn = await owner.gql("{ environments { groups { environments { id } } } }")
    assert not one_turn.errors
    assert len(one_turn.data["environments"]) == 40
    assert all(len(e["groups"][0]["environments"]) == 40 for e in one_turn.data["environments"])


@pytest.mark.parametrize("body", [b'"hello"', b"123", b"null", b"true"])
async def test_a_json_body_that_is_no_object_is_a_400_with_a_graphql_error(http, body):
    r = await http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert "Traceback" not in r.text


async def test_get_with_null_variables_still_works(http):
    r = await http.get("/graphql", params={"query": "{ __typename }", "variables": "null"})
    assert r.status_code == 200 and r.json()["data"] == {"__typename": "Query"}


async def test_an_audit_filter_longer_than_any_action_is_a_validation_error(gql):
    owner = await sign_up(gql, "Owner")
    q = "query($a: String!) { auditLog(filter: { action: $a }) { edges { cursor } } }"
    r = await owner.gql(q, a="x" * 9999)
    assert r.codes() == ["VALIDATION"], r.body
    assert (await owner.gql(q, a="x" * 64)).data["auditLog"]["edges"] == []


async def test_an_answer_past_the_value_ceiling_is_refused_not_sent(app_factory):
    http = await app_factory(MAX_RESPONSE_VALUES=100)
    owner = await sign_up(GraphQLClient(http), "Owner")
    for i in range(10):
        await create_env(owner, f"env-{i}")
    small = await owner.gql("{ environments { id } }")
    assert not small.errors and len(small.data["environments"]) == 10
    big = "{ environments { id name displayName status createdAt myPolicies owner { id } } }"
    r = await owner.gql(big)
    assert r.status == 200 and r.body["data"] is None
    assert limits_of(r.body) == [("VALIDATION", "response")]
    assert "more than 100 values" in r.body["errors"][0]["message"]


def limits_of(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["extensions"]["code"], e["extensions"].get("limit")) for e in body["errors"]]


@pytest.fixture(scope="module")
def real_gateway(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`collab serve` in its own process (on PostgreSQL when it is up, as in production)."""
    from tests.utils.processes import gateways

    with gateways(redis_url, tmp_path_factory.mktemp("hostile"), count=1) as stack:
        yield stack.urls[0]


async def test_a_real_gateway_refuses_them_at_once_and_keeps_answering(real_gateway):
    async with httpx.AsyncClient(base_url=real_gateway, timeout=30) as http:
        for query in (doubling_fragments(40), REPEATED_ME, doubling_fragments(22)):
            r, took = await refused_while_healthy(http, {"query": query})
            assert took < 1.0, f"refused after {took:.2f} s"
            assert limits(r) == [("VALIDATION", "selections")]
