"""Issue 19, finding 9, over real SMTP: a hostile name already in the database (written
before names were checked, or by the platform's sync) reaches no header and no reader."""

from __future__ import annotations

from models import Account
from tests.security.test_names_in_emails import HOSTILE
from tests.utils.accounts import sign_up
from tests.utils.members import VIEWER, invite
from tests.workers.conftest import make_group, parts


async def test_a_hostile_name_already_stored_reaches_no_header_and_no_reader(
    gql, mailbox, start_worker
):
    """Rows written before the check (or by the platform's sync) are cleaned at render
    time: over real SMTP, no Bcc header, no second recipient, no override anywhere, and
    the name shown as a quoted piece of data."""
    owner = await sign_up(gql, "Olga Owner")
    await Account.filter(id=owner.id).update(display_name=HOSTILE)
    group = await make_group(owner.id, "Prod\u202euction\r\nBcc: b@c.d")
    invitee = "ivan-invitee@collab.example"
    async with start_worker():
        await invite(owner, invitee, shares=[{"groupId": group, "roleIds": [VIEWER]}])
        [message] = await mailbox.wait_for(1)

    assert not {k.lower() for k in message} & {"bcc", "cc", "reply-to"}
    assert not any("\u202e" in str(v) or "a@b.c" in str(v) for v in message.values())
    assert [m["To"] for m in mailbox.messages] == [invitee]
    subject = str(message["Subject"])
    assert (
        subject == '"Your bank: verify at https://evil.examp…" invited you to collaborate on '
        "their environments"
    )
    text, html = parts(message)
    for body in (text, html):
        assert not any(c in body for c in ("\u202e", "\u2028")), body
    lines = text.splitlines()
    assert not [line for line in lines if line.lstrip().lower().startswith("bcc:")], text
    assert lines[0] == (
        "“Your bank: verify at https://evil.example/login … Bcc: a@b.c” "
        f"({owner.email}) invited you to collaborate on their environments."
    )
    assert "  - group Production Bcc: b@c.d (Viewer)" in lines
    assert "Your bank: verify at https://evil.example/login … Bcc: a@b.c" in html
