"""The platform client alone (respx in place of the platform): what it sends, and how it
sorts the platform's answers into success, refusal and outage; the circuit breaker."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
import respx

from infra.paas_client import (
    BreakerOpen,
    CircuitBreaker,
    PaasClient,
    PlatformOutage,
    PlatformRefusal,
)

BASE = "http://paas.test"
REST = f"{BASE}/1.0/environment/control/rest/"


@pytest.fixture
async def client():
    c = PaasClient(BASE + "/", "secret-token", timeout=2)
    yield c
    await c.aclose()


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@respx.mock
async def test_each_method_is_a_form_post_with_appid_and_session(client):
    route = respx.post(url__startswith=REST).mock(
        return_value=httpx.Response(200, json={"result": 0})
    )
    await client.start("shop")
    await client.stop("shop")
    await client.restart_nodes("shop")
    await client.delete("shop")
    await client.clone("shop", "shop-copy")
    await client.create("uid-7", "blog", "My blog")
    sent = [(r.url.path.rsplit("/", 1)[1], form(r)) for r, _ in route.calls]
    base = {"appid": "cluster", "session": "secret-token"}
    assert sent == [
        ("startenv", {**base, "envName": "shop"}),
        ("stopenv", {**base, "envName": "shop"}),
        ("restartnodes", {**base, "envName": "shop"}),
        ("deleteenv", {**base, "envName": "shop"}),
        ("cloneenv", {**base, "srcEnvName": "shop", "dstEnvName": "shop-copy"}),
        (
            "createenvironment",
            {**base, "ownerUid": "uid-7", "envName": "blog", "displayName": "My blog"},
        ),
    ]
    assert all(
        r.headers["content-type"] == "application/x-www-form-urlencoded" for r, _ in route.calls
    )


@respx.mock
async def test_getenvs_reads_names_display_names_and_status_codes(client):
    respx.post(REST + "getenvs").mock(return_value=httpx.Response(200, json={"result": 0, "infos": [
        {"env": {"envName": "shop", "displayName": "Shop", "status": 1}},
        {"env": {"envName": "blog", "displayName": "Blog", "status": 4}},
        {"env": {"envName": "api", "status": 3}},
    ]}))  # fmt: skip
    envs = await client.getenvs("uid-7")
    assert [(e.name, e.display_name, e.running, e.stopped) for e in envs] == [
        ("shop", "Shop", True, False), ("blog", "Blog", False, True), ("api", "api", False, False),
    ]  # fmt: skip


@respx.mock
async def test_a_refusal_carries_the_platforms_text(client):
    respx.post(REST + "startenv").mock(
        return_value=httpx.Response(200, json={"result": 11, "error": "no such environment"})
    )
    with pytest.raises(PlatformRefusal) as refused:
        await client.start("ghost")
    assert (refused.value.result, refused.value.error) == (11, "no such environment")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, json={"result": 0}),
        httpx.Response(200, text="<html>bad gateway</html>"),
        httpx.Response(200, json={"infos": []}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=["http-503", "not-json", "no-result", "refused-connection", "time-out"],
)
@respx.mock
async def test_anything_but_a_json_answer_is_an_outage_not_a_refusal(client, answer):
    route = respx.post(REST + "stopenv")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    with pytest.raises(PlatformOutage):
        await client.stop("shop")


@respx.mock
async def test_a_getenvs_answer_without_a_full_list_is_an_outage(client):
    respx.post(REST + "getenvs").mock(
        return_value=httpx.Response(200, json={"result": 0, "infos": [{"env": {"status": 1}}]})
    )
    with pytest.raises(PlatformOutage):
        await client.getenvs("uid-7")


@respx.mock
async def test_the_breaker_opens_after_five_outages_then_probes_after_the_cool_off():
    now = [0.0]
    client = PaasClient(BASE, "t", breaker=CircuitBreaker(5, 30, clock=lambda: now[0]))
    route = respx.post(REST + "startenv").mock(return_value=httpx.Response(502))
    for _ in range(5):
        with pytest.raises(PlatformOutage):
            await client.start("shop")
    assert route.call_count == 5 and client.breaker.state == "open"
    with pytest.raises(BreakerOpen):  # no call goes out while it is open
        await client.start("shop")
    assert route.call_count == 5
    now[0] = 30.0  # cool-off over: one probe; an answer closes the breaker
    route.mock(return_value=httpx.Response(200, json={"result": 0}))
    await client.start("shop")
    assert route.call_count == 6 and client.breaker.state == "closed"
    await client.aclose()


@respx.mock
async def test_a_refusal_is_an_answer_and_resets_the_outage_count():
    client = PaasClient(BASE, "t", breaker=CircuitBreaker(5, 30))
    route = respx.post(REST + "startenv")
    for _ in range(4):
        route.mock(return_value=httpx.Response(500))
        with pytest.raises(PlatformOutage):
            await client.start("shop")
    route.mock(return_value=httpx.Response(200, json={"result": 99, "error": "quota"}))
    with pytest.raises(PlatformRefusal):
        await client.start("shop")
    route.mock(return_value=httpx.Response(500))
    with pytest.raises(PlatformOutage) as outage:
        await client.start("shop")
    assert not isinstance(outage.value, BreakerOpen) and client.breaker.state == "closed"
    await client.aclose()
