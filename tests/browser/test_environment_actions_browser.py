"""Environment actions in the dashboard, in headless Chromium, against the platform.

A gateway and a real worker with PAAS_BACKEND=http, and the platform simulator
(`collab paas-sim`) as its own process: its fault switches (/_sim/faults) make the platform
slow or refuse. The owner starts, stops, clones and deletes from "Groups & environments"
and follows each action from pending to its end; a collaborator gets the controls their
roles allow in "Shared with me".
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, Sink, Stack, running_stack, screenshots
from tests.utils import processes

pytestmark = pytest.mark.browser

PAAS_TOKEN = "browser-sim-session"
PLATFORM_HEADERS = {"X-Platform-Token": "browser-test-platform"}  # conftest's PLATFORM_TOKEN
REFUSAL = "Not enough cloudlets on the hardware node"
INVITATION = re.compile(r"https?://\S+/invitations/([A-Za-z0-9_\-]+)")
VERIFICATION = re.compile(r"https?://\S+/account/verify-email/(\S+)")


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@dataclass
class Platform:
    """The stack, and the simulator's control endpoints."""

    stack: Stack
    sim: httpx.Client

    def add(self, owner_uid: str, name: str, status: int) -> None:
        body = {"ownerUid": owner_uid, "envName": name, "displayName": name, "status": status}
        self.sim.post("/_sim/environments", json=body).raise_for_status()

    def fault(self, method: str, **switches: Any) -> None:
        self.sim.post("/_sim/faults", json={"method": method, **switches}).raise_for_status()

    def owner(self, tag: str, uid: str, **envs: int) -> str:
        """A verified owner linked to platform account `uid` holding these environments
        (name: platform status, 1 running, 2 stopped), synced in: the session token."""
        for name, status in envs.items():
            self.add(uid, name, status)
        email = f"owner-{tag}@collab.example"
        token = self.gql(
            "mutation($e: String!, $p: String!) { signUp(email: $e, password: $p, "
            "displayName: \"Olga Owner\") { token account { id } errors { code } } }",
            e=email, p=PASSWORD,
        )["signUp"]  # fmt: skip
        link = VERIFICATION.search(Sink.text(self.stack.mail.wait_for(email, "Confirm your")))
        assert link is not None
        self.gql("mutation($t: String!) { verifyEmail(token: $t) { errors { code } } }",
                 t=link.group(1))  # fmt: skip
        linked = self.gql(
            "mutation($id: ID!, $uid: String!) { platformLinkAccount(accountId: $id, "
            "platformUid: $uid) { errors { code message } } }",
            headers=PLATFORM_HEADERS, id=token["account"]["id"], uid=uid,
        )["platformLinkAccount"]  # fmt: skip
        assert linked["errors"] == []
        deadline = time.monotonic() + 15  # the link queues the first sync
        while time.monotonic() < deadline:
            found = self.gql("{ environments { name } }", token=token["token"])["environments"]
            if set(envs) <= {e["name"] for e in found}:
                return str(token["token"])
            time.sleep(0.2)
        raise AssertionError(f"the first sync did not bring {set(envs)} in")

    def environment_id(self, token: str, name: str) -> str:
        found = self.gql("{ environments { id name } }", token=token)["environments"]
        return next(e["id"] for e in found if e["name"] == name)

    def gql(self, query: str, token: str | None = None, headers: dict[str, str] | None = None,
            **variables: Any) -> dict[str, Any]:  # fmt: skip
        sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        r = self.stack.server.api.post("/graphql", json={"query": query, "variables": variables},
                                       headers=sent)  # fmt: skip
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        assert not body.get("errors"), body
        return body["data"]


@pytest.fixture(scope="module")
def platform(
    chromium_path: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    directory = tmp_path_factory.mktemp("platform-dashboard")
    port = processes.free_port()
    sim_url = f"http://127.0.0.1:{port}"
    with (directory / "sim.log").open("wb") as log:
        sim = processes.start(["paas-sim", "--port", str(port), "--token", PAAS_TOKEN],
                             os.environ, log)  # fmt: skip
    try:
        with httpx.Client(base_url=sim_url, timeout=10) as client:
            _wait_for(client, sim)
            settings = {"PAAS_BACKEND": "http", "PAAS_URL": sim_url, "PAAS_TOKEN": PAAS_TOKEN,
                        "PAAS_TIMEOUT_SECONDS": "5", "PAAS_RETRY_SECONDS": "10"}  # fmt: skip
            with running_stack(directory, redis_url, **settings) as stack:
                yield Platform(stack, client)
    finally:
        processes.stop([sim])


def _wait_for(client: httpx.Client, proc: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the simulator exited early (see sim.log)"
        try:
            if client.get("/_sim/calls").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("the simulator did not start within 30 s")


def open_dashboard(browser: Any, platform: Platform, token: str, path: str, viewport: dict[str, int],
                   **options: Any) -> Any:  # fmt: skip
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    url = platform.stack.server.url
    page.goto(f"{url}/app")
    page.evaluate("t => localStorage.setItem('collab.session', t)", token)
    page.goto(f"{url}/app{path}")
    return page


def record_progress(card: Any) -> None:
    """Keeps every text the card's progress line shows (a phase may last a moment only)."""
    card.evaluate("""card => {
      card.__seen = [];
      const note = () => {
        const p = card.querySelector('.op-progress');
        const text = p ? p.textContent : '';
        if (text && card.__seen[card.__seen.length - 1] !== text) card.__seen.push(text);
      };
      note();
      new MutationObserver(note).observe(card, {subtree: true, childList: true, characterData: true});
    }""")


def button(card: Any, name: str) -> Any:
    return card.get_by_role("button", name=name, exact=True)


def test_owner_starts_stops_clones_and_deletes_and_sees_each_end(
    platform: Platform, browser: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    shop, blog = f"shop-{tag}", f"blog-{tag}"
    token = platform.owner(tag, f"uid-{tag}", **{shop: 2, blog: 1})
    page = open_dashboard(browser, platform, token, "/shared-by-me/environments", DESKTOP)
    card = page.get_by_role("listitem", name=f"Environment {shop}")
    progress = card.locator(".op-progress").first

    # Stopped: Start is offered, Stop and Restart are not.
    expect(card).to_contain_text("stopped")
    expect(button(card, "Start")).to_be_enabled()
    expect(button(card, "Stop")).to_be_disabled()
    expect(button(card, "Restart nodes")).to_be_disabled()

    # Start, with the platform taking its time: pending, every button off, then done.
    platform.fault("startenv", latency=1.5)
    record_progress(card)
    button(card, "Start").click()
    expect(progress).to_have_text(re.compile(r"^Start: (pending|running)"))
    for name in ("Start", "Stop", "Restart nodes", "Clone", "Delete"):
        expect(button(card, name)).to_be_disabled()
    screenshots(page, "environment-actions-1-busy")
    expect(progress).to_have_text(re.compile(r"^Start: done"), timeout=20_000)
    expect(card).to_contain_text("running")
    expect(button(card, "Stop")).to_be_enabled()
    expect(button(card, "Restart nodes")).to_be_enabled()
    expect(button(card, "Start")).to_be_disabled()
    seen = card.evaluate("card => card.__seen")
    assert seen[0].startswith("Start: pending"), seen
    assert "Start: running on the platform…" in seen, seen
    assert seen[-1].startswith("Start: done"), seen
    platform.fault("startenv")

    # The platform refuses a stop: its own words, no codes; the environment keeps running.
    platform.fault("stopenv", refuse=REFUSAL)
    button(card, "Stop").click()
    expect(progress).to_have_text(f"Stop failed: the platform refused: {REFUSAL}", timeout=20_000)
    expect(card).not_to_contain_text("PLATFORM_REFUSED")
    expect(card).to_contain_text("running")
    expect(button(card, "Stop")).to_be_enabled()
    screenshots(page, "environment-actions-2-refused")
    platform.fault("stopenv")

    # Clone asks for the copy's name; the copy appears and its creation is followed.
    button(card, "Clone").click()
    page.get_by_role("dialog").get_by_label("Name of the copy").fill(f"copy-{tag}")
    page.get_by_role("dialog").get_by_role("button", name="Clone").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(card.get_by_text(re.compile(f"^Clone → copy-{tag}: done"))).to_be_visible(timeout=20_000)
    copy = page.get_by_role("listitem", name=f"Environment copy-{tag}")
    expect(copy.locator(".op-progress")).to_have_text(re.compile(r"^Clone: done"))

    # Delete asks first (Cancel keeps it), then the environment leaves the list when done.
    other = page.get_by_role("listitem", name=f"Environment {blog}")
    button(other, "Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    button(other, "Delete").click()
    expect(page.get_by_role("dialog")).to_contain_text("cannot be undone")
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(other).to_have_count(0, timeout=20_000)
    deleted = platform.sim.get("/_sim/calls").json()
    assert [c["params"]["envName"] for c in deleted if c["method"] == "deleteenv"] == [blog]

    page.set_viewport_size(PHONE)  # still usable on a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(button(card, "Stop")).to_be_visible()
    screenshots(page, "environment-actions-3-owner")
    page.context.close()


def test_a_collaborator_gets_only_the_actions_of_their_roles(
    platform: Platform, browser: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    api = f"api-{tag}"
    owner = platform.owner(tag, f"uid-{tag}", **{api: 2})
    role = platform.gql(
        'mutation { createRole(input: { name: "Starter", policies: ["env.view", "env.start"] }) '
        "{ role { id } errors { code message } } }", token=owner,
    )["createRole"]["role"]["id"]  # fmt: skip
    email = f"cora-{tag}@collab.example"
    share = {"environmentId": platform.environment_id(owner, api), "roleIds": [role]}
    invited = platform.gql(
        "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { errors { code } } }",
        token=owner, i={"email": email, "shares": [share]},
    )["inviteMember"]  # fmt: skip
    assert invited["errors"] == []
    link = INVITATION.search(Sink.text(platform.stack.mail.wait_for(email, "invit")))
    assert link is not None
    member = platform.gql(
        "mutation($t: String!, $p: String!) { signUpWithInvitation(token: $t, password: $p) "
        "{ token errors { code } } }", t=link.group(1), p=PASSWORD,
    )["signUpWithInvitation"]["token"]  # fmt: skip

    page = open_dashboard(browser, platform, member, "/shared-with-me", PHONE,
                          is_mobile=True, has_touch=True)  # fmt: skip
    card = page.get_by_role("listitem", name=f"Environment {api}")
    expect(card).to_contain_text("stopped")
    expect(button(card, "Start")).to_be_enabled()
    for name in ("Stop", "Restart nodes", "Clone", "Delete"):  # not in the Starter role
        expect(button(card, name)).to_be_disabled()
    button(card, "Start").click()
    expect(card.locator(".op-progress")).to_have_text(re.compile(r"^Start: done"), timeout=20_000)
    expect(card).to_contain_text("running")
    expect(button(card, "Start")).to_be_disabled()  # running now
    expect(button(card, "Stop")).to_be_disabled()  # still not theirs to do
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshots(page, "environment-actions-4-collaborator")
    page.context.close()
