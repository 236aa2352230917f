"""GET /invitations/<token>: the page behind the emailed link."""

from __future__ import annotations

import html

from .helpers import ACCEPT, RESEND, invitation_token, invite, sign_up


async def test_invitation_page_200_404(gql, http):
    owner = await sign_up(gql, "Zelda O'Owner")
    m = await invite(owner, "newcomer@corp.example")
    tok = await invitation_token(m["id"])
    r = await http.get(f"/invitations/{tok}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    text = html.unescape(r.text)
    assert "Zelda O'Owner" in text and "newcomer@corp.example" in text
    low = text.lower()
    assert "<form" in low and 'type="password"' in low
    assert "accept" in low and "reject" in low
    # unknown token
    r = await http.get("/invitations/not-a-real-token")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower()
    # replaced by a re-send: spent
    (await owner.gql(RESEND, id=m["id"])).ok("resendInvitation")
    r = await http.get(f"/invitations/{tok}")
    assert r.status_code == 404


async def test_invitation_page_for_existing_account_and_spent_token(gql, http):
    owner = await sign_up(gql, "Owner")
    pal = await sign_up(gql, "Pal")
    m = await invite(owner, pal.email)
    tok = await invitation_token(m["id"])
    r = await http.get(f"/invitations/{tok}")
    assert r.status_code == 200 and pal.email in html.unescape(r.text)
    low = r.text.lower()
    assert 'type="password"' in low and "accept" in low and "reject" in low
    (await pal.gql(ACCEPT, token=tok)).ok("acceptInvitation")
    r = await http.get(f"/invitations/{tok}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
