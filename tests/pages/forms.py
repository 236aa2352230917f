"""Reading the invitation page's forms the way a browser would, without one."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

_FORM = re.compile(
    r'<form[^>]*action="(?P<action>[^"]+)"[^>]*>\s*'
    r'<input type="hidden" name="csrf_token" value="(?P<csrf>[^"]+)">',
    re.S,
)


@dataclass
class InvitationForms:
    accept_url: str
    accept_csrf: str
    reject_url: str
    reject_csrf: str


def forms_of(html: str) -> InvitationForms:
    found = {m["action"].rsplit("/", 1)[-1]: m for m in _FORM.finditer(html)}
    accept, reject = found["accept"], found["reject"]
    return InvitationForms(accept["action"], accept["csrf"], reject["action"], reject["csrf"])


async def open_invitation(http: httpx.AsyncClient, token: str) -> InvitationForms:
    r = await http.get(f"/invitations/{token}")
    assert r.status_code == 200, r.text
    return forms_of(r.text)
