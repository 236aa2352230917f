"""ENVIRONMENT=production: no introspection, no GraphiQL, no /dev pages; headers on HTML."""

from __future__ import annotations

INTROSPECTION = "{ __schema { queryType { name } } }"
PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": "a-real-secret-for-tests-0123456789",
              "PUBLIC_URL": "https://collab.example.com"}  # fmt: skip


async def test_production_hides_the_schema_graphiql_and_dev_pages(app_factory):
    http = await app_factory(**PRODUCTION)
    r = await http.post("/graphql", json={"query": INTROSPECTION})
    assert r.json()["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert "data" not in r.json() or r.json()["data"] is None
    r = await http.post("/graphql", json={"query": "{ __typename }"})
    assert r.json()["data"] == {"__typename": "Query"}
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code in (400, 404) and "graphiql" not in page.text.lower()
    assert (await http.get("/dev/mail")).status_code == 404


async def test_development_serves_them_with_safe_headers(app_factory):
    http = await app_factory()
    r = await http.post("/graphql", json={"query": INTROSPECTION})
    assert r.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    mail = await http.get("/dev/mail")
    assert mail.status_code == 200 and mail.headers["x-frame-options"] == "DENY"


async def test_invitation_page_cookies_are_secure_behind_https(app_factory):
    from tests.utils.accounts import sign_up
    from tests.utils.graphql import GraphQLClient
    from tests.utils.members import invitation_token, invite

    http = await app_factory(**PRODUCTION)
    owner = await sign_up(GraphQLClient(http), "Owner")
    member = await invite(owner, "guest@collab.example")
    page = await http.get(f"/invitations/{await invitation_token(member['id'])}")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
