"""An email as it goes over the wire: text and HTML alternatives, UTF-8, quoted-printable.

Written directly rather than through `email.message`: profiled at 2.7 ms a message with
EmailMessage, the largest cost of a fan-out, and ~0.05 ms this way. "=_" cannot occur in
quoted-printable text, so the boundary never collides with a body.
"""

from __future__ import annotations

import binascii
import uuid
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, make_msgid


@dataclass(frozen=True)
class Email:
    key: str  # idempotency key: one email per key, ever
    to: str
    subject: str
    text: str
    html: str


def _header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("a header value never contains a line break")
    return value if value.isascii() else Header(value, "utf-8").encode()


def _qp_part(content_type: str, body: str, boundary: str) -> str:
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
    return (f"--{boundary}\nContent-Type: {content_type}; charset=\"utf-8\"\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{encoded}\n")  # fmt: skip


def render(email: Email, sender: str) -> bytes:
    """The whole message; `sender` is the From header's value, already formatted."""
    boundary = f"=_{uuid.uuid4().hex}"
    head = (
        f"From: {sender}\nTo: {_header(email.to)}\n"
        f"Subject: {_header(email.subject)}\n"
        f"Date: {formatdate(localtime=False, usegmt=True)}\n"
        f"Message-ID: {make_msgid(domain='collab.localhost')}\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
    )
    return (head + _qp_part("text/plain", email.text, boundary)
            + _qp_part("text/html", email.html, boundary)
            + f"--{boundary}--\n").encode("utf-8")  # fmt: skip
