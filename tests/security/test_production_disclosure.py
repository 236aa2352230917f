"""Issue 19, finding 17 (CONTRACT section 5): production gives no "Did you mean ..."
suggestions, serves /metrics only with METRICS_TOKEN, and no client can add labels to the
metrics by making up operation names."""

from __future__ import annotations

import re
import uuid

import httpx

from infra.metrics import DASHBOARD_OPERATIONS
from tests.security.test_query_limits import dashboard_documents
from tests.utils.processes import free_port

PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": "a-real-secret-for-tests-0123456789",
              "PUBLIC_URL": "https://collab.example.com"}  # fmt: skip
# Each would name something of the schema the caller did not: a field, an enum value (in
# the document and in a variable), an argument, a type.
MISTAKES = [
    ({"query": "{ mee { id } }"}, "Cannot query field 'mee'"),
    ({"query": 'mutation { inviteMember(input: { email: "a@collab.example", '
               "accountRole: VIWER }) { errors { code } } }"}, "VIWER"),
    ({"query": "mutation($r: AccountRole) { inviteMember(input: { email: \"a@collab.example\", "
               "accountRole: $r }) { errors { code } } }", "variables": {"r": "VIWER"}}, "VIWER"),
    ({"query": "{ members(statuss: [ACTIVE]) { id } }"}, "statuss"),
    ({"query": "query($s: [MemberStatuss!]) { members(status: $s) { id } }"}, "MemberStatuss"),
]  # fmt: skip
METRIC = "collab_graphql_request_duration_seconds_count"


async def messages(http, body):  # type: ignore[no-untyped-def]
    r = await http.post("/graphql", json=body)
    errors = r.json()["errors"]
    assert errors and all(e["extensions"]["code"] == "VALIDATION" for e in errors), errors
    return " ".join(e["message"] for e in errors)


async def test_production_errors_suggest_no_names(app_factory):
    production = await app_factory(**PRODUCTION)
    for body, named in MISTAKES:
        said = await messages(production, body)
        assert named in said and "did you mean" not in said.lower(), said


async def test_development_keeps_its_suggestions(app_factory):
    development = await app_factory()
    said = await messages(development, MISTAKES[0][0])
    assert "Did you mean 'me'?" in said


async def test_production_metrics_need_the_token(app_factory):
    without_token = await app_factory(**PRODUCTION)
    assert (await without_token.get("/metrics")).status_code == 404
    token = uuid.uuid4().hex
    http = await app_factory(**PRODUCTION, METRICS_TOKEN=token)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token},
                    {"Authorization": f"Basic {token}"}):  # fmt: skip
        refused = await http.get("/metrics", headers=headers)
        assert refused.status_code == 401 and "collab_" not in refused.text, headers
        assert refused.headers["www-authenticate"].startswith("Bearer")
    scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200 and "collab_errors_total" in scraped.text


async def test_development_metrics_are_open_unless_a_token_is_set(app_factory):
    assert (await (await app_factory()).get("/metrics")).status_code == 200
    guarded = await app_factory(METRICS_TOKEN="dev-token")
    assert (await guarded.get("/metrics")).status_code == 401


def labels(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for operation, value in re.findall(rf'^{METRIC}{{operation="([^"]*)",type="query"}} (\S+)$',
                                       text, re.M):  # fmt: skip
        found[operation] = float(value)
    return found


async def test_made_up_operation_names_are_labelled_other(app_factory):
    http = await app_factory(METRICS_OPERATIONS="MobileHome, not a name")
    before = labels((await http.get("/metrics")).text)
    made_up = [f"Flood{uuid.uuid4().hex}" for _ in range(40)]
    for name in [*made_up, "Me", "MobileHome"]:
        r = await http.post("/graphql", json={"query": f"query {name} {{ __typename }}"})
        assert r.status_code == 200
    after = labels((await http.get("/metrics")).text)
    assert set(after) <= DASHBOARD_OPERATIONS | {"MobileHome", "other", "anonymous"}
    assert after["other"] - before.get("other", 0) == 40
    assert after["Me"] - before.get("Me", 0) == 1
    assert after["MobileHome"] - before.get("MobileHome", 0) == 1


def test_the_known_names_are_the_dashboards():
    assert set(dashboard_documents()) == DASHBOARD_OPERATIONS


async def test_production_metrics_on_a_port_of_their_own(app_factory):
    """METRICS_PORT: the public port answers 404, the metrics port (loopback by default)
    serves everything, the outbox gauges read from the database included."""
    port = free_port()
    http = await app_factory(**PRODUCTION, METRICS_PORT=port)
    assert (await http.get("/metrics")).status_code == 404
    async with httpx.AsyncClient(timeout=10) as scraper:
        scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    assert scraped.status_code == 200
    assert "collab_errors_total" in scraped.text and "collab_outbox_depth" in scraped.text
