"""The dashboard at /app in headless Chromium: the issue's story, owner and collaborator.

Real gateway, real worker, real SMTP sink: the invitee follows the link from the email
that arrived. Both people keep their page open; what the other does shows up live.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, Sink, Stack, screenshots

pytestmark = pytest.mark.browser

LINK = re.compile(r"https?://\S+/invitations/[A-Za-z0-9_\-]+")


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
def people(browser: Any) -> Iterator[tuple[Any, Any]]:
    """The owner on a desktop and the collaborator on a phone, each with own storage."""
    owner_ctx = browser.new_context(viewport=DESKTOP)
    member_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    owner, member = owner_ctx.new_page(), member_ctx.new_page()
    for tab in (owner, member):
        tab.set_default_timeout(10_000)
    yield owner, member
    owner_ctx.close()
    member_ctx.close()


def sign_up_owner(stack: Stack, page: Any, name: str, email: str) -> None:
    """An owner's account through the dashboard's sign-up form, verified through the
    emailed link (owners verify before they invite), ending logged in on the dashboard."""
    url = stack.server.url
    page.goto(url)  # "/" redirects to /app: the log-in screen
    assert page.url.endswith("/app")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Shared by me", level=1)).to_be_visible()
    message = stack.mail.wait_for(email, "Confirm your email address")
    link = re.search(r"https?://\S+/account/verify-email/\S+", Sink.text(message))
    assert link is not None, Sink.text(message)
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_role("heading", name="Your email address is confirmed")).to_be_visible()
    page.goto(f"{url}/app")
    expect(page.get_by_role("heading", name="Shared by me", level=1)).to_be_visible()


def dialog(page: Any) -> Any:
    return page.get_by_role("dialog")


def create_group(page: Any, name: str, inside: str | None = None) -> None:
    page.get_by_role("button", name="New group").click()
    dialog(page).get_by_label("Name", exact=True).fill(name)
    if inside:
        dialog(page).get_by_label("Inside").select_option(label=inside)
    dialog(page).get_by_role("button", name="Create group").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.get_by_role("treeitem", name=name)).to_be_visible()


def create_environment(page: Any, name: str, group: str) -> None:
    page.get_by_role("button", name="New environment").click()
    dialog(page).get_by_label("Name", exact=True).fill(name)
    dialog(page).get_by_label("Group").select_option(label=group)
    dialog(page).get_by_role("button", name="Create environment").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.get_by_role("listitem", name=f"Environment {name}")).to_be_visible()


def test_owner_shares_and_the_collaborator_sees_it_live(stack: Stack, people: Any) -> None:
    owner, member = people
    url = stack.server.url
    tag = uuid.uuid4().hex[:6]
    owner_email, ivy = f"olivia-{tag}@collab.example", f"ivy-{tag}@collab.example"

    # -- the owner signs up and builds a group tree ------------------------------------
    sign_up_owner(stack, owner, "Olivia Owner", owner_email)
    expect(owner.get_by_text("You have not invited anyone yet")).to_be_visible()
    screenshots(owner, "dashboard-1-members-empty")

    owner.get_by_role("link", name="Groups & environments").click()
    expect(owner.get_by_text("No groups yet")).to_be_visible()
    create_group(owner, "Production")
    create_group(owner, "Staging")
    create_group(owner, "Backend", inside="Production")
    create_group(owner, "Old")
    # Move "Old" under Staging by its menu, then rename it: the tree follows.
    owner.get_by_role("treeitem", name="Old").get_by_label("Actions for group Old").click()
    owner.get_by_role("button", name="Move…").click()
    dialog(owner).get_by_label("Move into").select_option(label="Staging")
    dialog(owner).get_by_role("button", name="Move").click()
    expect(owner.get_by_role("treeitem", name="Old")).to_have_attribute("aria-level", "2")
    owner.get_by_role("treeitem", name="Old").get_by_label("Actions for group Old").click()
    owner.get_by_role("button", name="Rename").click()
    dialog(owner).get_by_label("Name", exact=True).fill("Legacy")
    dialog(owner).get_by_role("button", name="Rename").click()
    expect(owner.get_by_role("treeitem", name="Legacy")).to_be_visible()
    # Or drag it: onto Backend (under Production), then back to the top level.
    legacy = owner.get_by_role("treeitem", name="Legacy")
    legacy.drag_to(owner.get_by_role("treeitem", name="Backend"))
    expect(legacy).to_have_attribute("aria-level", "3")
    box = legacy.bounding_box()
    owner.mouse.move(box["x"] + 40, box["y"] + 10)
    owner.mouse.down()
    owner.mouse.move(box["x"] + 60, box["y"] + 30, steps=3)  # the drag starts: a drop zone appears
    owner.get_by_text("Drop here to move Legacy to the top level").hover()
    owner.mouse.up()
    expect(legacy).to_have_attribute("aria-level", "1")
    # A bad name comes back next to its field, and nothing is created.
    owner.get_by_role("button", name="New environment").click()
    dialog(owner).get_by_label("Name", exact=True).fill("Not Valid!")
    dialog(owner).get_by_role("button", name="Create environment").click()
    expect(dialog(owner).locator("#f-name-error")).to_be_visible()
    expect(dialog(owner).get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    owner.keyboard.press("Escape")
    expect(dialog(owner)).to_have_count(0)
    create_environment(owner, f"api-prod-{tag}", "Production")
    create_environment(owner, f"web-staging-{tag}", "Staging")
    screenshots(owner, "dashboard-2-groups")

    # -- invites a collaborator with a share on the Production group -------------------
    owner.get_by_role("link", name="Members").click()
    owner.get_by_role("button", name="Invite collaborator").click()
    invite = dialog(owner)
    invite.get_by_label("Email").fill(ivy)
    invite.get_by_label("Display name").fill("Ivy")
    invite.get_by_role("checkbox", name="Production (group)").check()
    expect(invite.get_by_role("group", name="Roles on Group Production")).to_be_visible()
    screenshots(owner, "dashboard-3-invite-dialog")
    invite.get_by_role("button", name="Send invitation").click()
    row = owner.get_by_role("listitem", name=f"Member {ivy}")
    expect(row).to_contain_text("pending")
    expect(row).to_contain_text("Group Production: Viewer")

    # -- the invitee follows the emailed link, sets a password, lands in the dashboard -
    email = stack.mail.wait_for(ivy, "invit")
    link = LINK.search(stack.mail.text(email))
    assert link, stack.mail.text(email)
    member.goto(link.group(0))
    member.get_by_label("Your name").fill("Ivy Invitee")
    member.get_by_label("Password").fill("a fine new password")
    member.get_by_role("button", name="Create account and accept").click()
    member.get_by_role("link", name="Open the dashboard").click()
    section = member.get_by_role("region", name="Environments owned by Olivia Owner")
    expect(section).to_be_visible()
    assert "#handoff" not in member.url  # the hand-off code left the address bar
    api_card = section.get_by_role("listitem", name=f"Environment api-prod-{tag}")
    expect(api_card).to_be_visible()
    expect(section.get_by_role("listitem", name=f"Environment web-staging-{tag}")).to_have_count(0)
    # Viewer on Production: seeing is allowed, stopping is not.
    expect(api_card.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    expect(api_card.get_by_role("button", name="Start", exact=True)).to_be_disabled()
    screenshots(member, "dashboard-4-shared-with-me")

    # -- the owner shares another group; the open page shows it without a reload -------
    member.evaluate("window.__sameDocument = true")
    owner.reload()
    row = owner.get_by_role("listitem", name=f"Member {ivy}")
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Edit").click()
    edit = dialog(owner)
    edit.get_by_role("checkbox", name="Staging (group)").check()
    edit.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Group Staging: Viewer")
    expect(section.get_by_role("listitem", name=f"Environment web-staging-{tag}")).to_be_visible()
    assert member.evaluate("window.__sameDocument") is True
    share_email = stack.mail.text(stack.mail.wait_for(ivy, f"web-staging-{tag}"))
    assert f"{url}/app/shared/" in share_email  # its place in the dashboard

    # -- the owner's "why?" explains the collaborator's access -------------------------
    owner.get_by_role("link", name="Groups & environments").click()
    env_row = owner.get_by_role("listitem", name=f"Environment api-prod-{tag}")
    expect(env_row.get_by_role("cell", name="inherited (group)")).to_be_visible()
    env_row.get_by_role("button", name=re.compile(f"Why does {re.escape(ivy)}")).click()
    why = dialog(owner)
    expect(why).to_contain_text("shares on the groups holding it")
    expect(why).to_contain_text("Viewer on group Production")
    expect(why.get_by_label("Not allowed")).to_contain_text("env.stop")
    expect(why.get_by_label("Allowed", exact=True)).not_to_contain_text("env.stop")
    screenshots(owner, "dashboard-5-why")
    owner.keyboard.press("Escape")

    # -- roles and the audit log -----------------------------------------------------------
    owner.get_by_role("link", name="Roles").click()
    expect(owner.get_by_role("listitem", name="Role Full access")).to_be_visible()
    owner.get_by_role("button", name="New role").click()
    role = dialog(owner)
    role.get_by_label("Name", exact=True).fill("viewer")  # taken by the built-in "Viewer"
    owner.get_by_label("Search policies").fill("ssh")
    expect(role.get_by_text("access.ssh")).to_be_visible()
    expect(role.get_by_text("logs.view")).to_have_count(0)
    role.get_by_role("checkbox", name=re.compile("access.ssh")).check()
    role.get_by_role("button", name="Create role").click()
    expect(role.locator("#f-name-error")).to_contain_text("already exists")
    screenshots(owner, "dashboard-6-role-dialog")
    role.get_by_label("Name", exact=True).fill("Shell")
    role.get_by_role("button", name="Create role").click()
    expect(owner.get_by_role("listitem", name="Role Shell")).to_contain_text("access.ssh")
    owner.get_by_role("link", name="Audit log").click()
    expect(owner.get_by_role("cell", name="member.accept")).to_be_visible()
    owner.get_by_placeholder("e.g. env.stop").fill("member.invite")
    expect(owner.get_by_role("cell", name="member.accept")).to_have_count(0)
    expect(owner.get_by_role("cell", name="member.invite")).to_be_visible()
    screenshots(owner, "dashboard-7-audit")

    # -- the share email's link opens the environment's place in "Shared with me" -------
    member.goto(re.search(r"https?://\S+/app/shared/\S+", share_email).group(0))
    staging = member.get_by_role("listitem", name=f"Environment web-staging-{tag}")
    expect(staging).to_have_class(re.compile("focused"))
    member.evaluate("window.__sameDocument = true")

    # -- the owner suspends the member; the collaborator's section disappears live -----
    owner.get_by_role("link", name="Members").click()
    owner.get_by_role("listitem", name=f"Member {ivy}").get_by_role(
        "button", name="Suspend"
    ).click()
    expect(owner.get_by_role("listitem", name=f"Member {ivy}")).to_contain_text("suspended")
    screenshots(owner, "dashboard-8-members")
    expect(section).to_have_count(0)
    assert member.evaluate("window.__sameDocument") is True
    expect(member.get_by_text("Nobody shares environments with you yet")).to_be_visible()
    screenshots(member, "dashboard-9-shared-with-me-empty")


def test_graphiql_renders_offline_and_runs_a_query(stack: Stack, page: Any) -> None:
    data = stack.server.gql(
        "mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token } }",
        e=f"gq-{uuid.uuid4().hex[:6]}@collab.example", p=PASSWORD,
    )  # fmt: skip
    elsewhere: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(stack.server.url) else elsewhere.append(r.url)
    )
    page.goto(f"{stack.server.url}/app")
    page.evaluate("t => localStorage.setItem('collab.session', t)", data["signUp"]["token"])
    page.goto(f"{stack.server.url}/graphql")
    expect(page.locator(".graphiql-query-editor")).to_contain_text("me { id email")
    expect(page.locator(".graphiql-editor-tool")).to_contain_text("Bearer")  # the session
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".result-window")).to_contain_text('"kind": "TRIAL"', timeout=10_000)
    screenshots(page, "graphiql")
    assert elsewhere == []  # nothing from a CDN: it works on a machine without internet


def test_owner_runs_the_member_lifecycle_from_the_list(stack: Stack, people: Any) -> None:
    owner, member = people
    owner.on("dialog", lambda d: d.accept())  # "Remove …?" confirmations
    tag = uuid.uuid4().hex[:6]
    me, ann, bob = (f"{n}-{tag}@collab.example" for n in ("oscar", "ann", "bob"))
    sign_up_owner(stack, owner, "Oscar Owner", me)

    owner.get_by_role("button", name="Invite collaborator").click()
    invite = dialog(owner)
    invite.get_by_label("Email").fill(me)  # one's own email: refused, beside the field
    invite.get_by_role("button", name="Send invitation").click()
    expect(invite.locator("#f-email-error")).to_be_visible()
    invite.get_by_label("Email").fill(ann)
    invite.get_by_role("button", name="Send invitation").click()
    expect(dialog(owner)).to_have_count(0)

    def row(email: str) -> Any:
        return owner.get_by_role("listitem", name=f"Member {email}")

    row(ann).get_by_role("button", name="Resend").click()
    expect(row(ann)).to_contain_text("Invitation sent again")
    row(ann).get_by_role("button", name="Copy").click()
    dialog(owner).get_by_label("Email").fill(bob)
    dialog(owner).get_by_role("button", name="Send invitation").click()
    expect(row(bob)).to_contain_text("pending")

    # Ann accepts with the link of the re-sent invitation and opens the dashboard.
    stack.mail.wait_for(ann, "Reminder", within=20)
    member.goto(f"{stack.server.url}/invitations/{_newest_token(stack, ann)}")
    member.get_by_label("Password").fill(PASSWORD)
    member.get_by_role("button", name="Create account and accept").click()
    member.get_by_role("link", name="Open the dashboard").click()
    section = member.get_by_role("region", name="Environments owned by Oscar Owner")
    expect(section).to_contain_text("Oscar Owner has not shared any environment")

    owner.reload()
    row(ann).get_by_role("button", name="Suspend").click()
    expect(row(ann)).to_contain_text("suspended")
    row(ann).get_by_role("button", name="Activate").click()
    expect(row(ann)).to_contain_text("active")

    # Ann leaves from her page; Bob's invitation is withdrawn.
    expect(section).to_be_visible()
    section.get_by_role("button", name="Leave").click()
    dialog(member).get_by_role("button", name="Leave").click()
    expect(section).to_have_count(0)
    owner.reload()
    expect(row(ann)).to_contain_text("left")
    row(bob).get_by_role("button", name="Remove").click()
    expect(row(bob)).to_contain_text("removed")

    owner.get_by_role("button", name=re.compile("^Ended")).click()
    expect(row(bob)).to_be_visible()
    row(ann).get_by_role("button", name="Re-invite").click()
    expect(row(ann)).to_have_count(0)  # pending again: no longer "ended"
    expect(row(bob)).to_be_visible()
    owner.get_by_role("button", name=re.compile("^Pending")).click()
    expect(row(ann)).to_contain_text("pending")
    expect(row(bob)).to_have_count(0)

    # Ann answers the new invitation from "Shared with me".
    member.reload()
    invitations = member.get_by_role("region", name="Pending invitations")
    expect(invitations).to_contain_text("Oscar Owner")
    screenshots(member, "dashboard-10-pending-invitation")
    invitations.get_by_role("button", name="Accept").click()
    expect(section).to_be_visible()
    expect(invitations).to_have_count(0)

    # Log out (the session is revoked), then log in again with the password.
    session = member.evaluate("() => localStorage.getItem('collab.session')")
    assert session
    member.get_by_role("button", name="Log out").click()
    expect(member.get_by_role("heading", name="Log in")).to_be_visible()
    me_query = stack.server.api.post(
        "/graphql", json={"query": "{ me { id } }"},
        headers={"Authorization": f"Bearer {session}"},
    ).json()  # fmt: skip
    assert me_query["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    member.get_by_label("Email").fill(ann)
    member.get_by_label("Password").fill("wrong password")
    member.get_by_role("button", name="Log in").click()
    expect(member.get_by_role("alert")).to_contain_text("UNAUTHENTICATED")
    member.get_by_label("Password").fill(PASSWORD)
    member.get_by_role("button", name="Log in").click()
    expect(section).to_be_visible()


def _newest_token(stack: Stack, to: str) -> str:
    """The token of the newest invitation email to `to` (a resend spends the old one)."""
    links = [LINK.search(stack.mail.text(m)) for m in stack.mail.messages if m["To"] == to]
    found = [link.group(0) for link in links if link]
    assert found, f"no invitation email to {to}"
    return found[-1].rsplit("/", 1)[1]
