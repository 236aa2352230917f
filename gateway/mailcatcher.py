"""`collab dev`'s mail catcher: an SMTP server that keeps every message as a file.

Messages land in `<data dir>/mail/*.eml` (COLLAB_DATA_DIR, default `var`), readable with
any mail client, and in development the gateway lists them at `GET /dev/mail`.
Nothing here is mounted or started in production. The page shows every link the service
emailed (verification, password reset, invitations) without a log-in, so it answers
requests from this machine only (a loopback client address; see TRUSTED_PROXIES for how
the address is found), whatever interface the gateway listens on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

NAME = re.compile(r"^[0-9]{13}-[0-9a-f]{32}\.eml$")


def mail_dir(data_dir: Path | None = None) -> Path:
    base = data_dir or Path(os.environ.get("COLLAB_DATA_DIR", "var"))
    return base / "mail"


class MailCatcher:
    """aiosmtpd handler: accepts everything, writes each message to its own file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{int(time.time() * 1000):013d}-{uuid.uuid4().hex}.eml"
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        (self.directory / name).write_bytes(data)
        return "250 Message accepted for delivery"


async def start(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> asyncio.Server:
    """Serves SMTP on this event loop (no thread)."""
    from aiosmtpd.smtp import SMTP

    handler = MailCatcher(directory)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname="collab-dev", loop=loop), host, port
    )


def _read(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _body(message: EmailMessage, kind: str) -> str | None:
    part = message.get_body(preferencelist=(kind,))
    return None if part is None else str(part.get_content())


WARNING = (
    "<p role='note' style='background:#fff3cd;padding:.6rem 1rem;border:1px solid #e0c36c'>"
    "<strong>Development only.</strong> This page shows every email the service sent, "
    "links to verify accounts, reset passwords and accept invitations included, without a "
    "log-in. It answers requests from this machine only. Production "
    "(<code>ENVIRONMENT=production</code>) does not serve it.</p>"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2rem}td{padding:.2rem .8rem}"
        "pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}</style></head>"
        f"<body><p><a href='/dev/mail'>All mail</a> · development only</p>{WARNING}{body}"
        "</body></html>",
        status_code=status,
    )


def from_this_machine(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refused() -> HTMLResponse:
    return _page("Forbidden", "<h1>Only from this machine</h1><p>Caught development mail "
                 "is shown to requests from a loopback address only.</p>", 403)  # fmt: skip


def dev_mail_routes(directory: Path | None = None) -> list[Route]:
    """`GET /dev/mail` (the list) and `GET /dev/mail/<file>` (one message)."""

    def folder() -> Path:
        return directory or mail_dir()

    async def index(request: Request) -> Response:
        if not from_this_machine(request):
            return _refused()
        files = sorted(folder().glob("*.eml"), reverse=True) if folder().is_dir() else []
        rows = []
        for path in files[:500]:
            message = _read(path)
            rows.append(
                f"<tr><td>{escape(str(message['Date'] or ''))}</td>"
                f"<td>{escape(str(message['To'] or ''))}</td>"
                f"<td><a href='/dev/mail/{path.name}'>{escape(str(message['Subject'] or ''))}"
                "</a></td></tr>"
            )
        table = "".join(rows) or "<tr><td>No mail yet.</td></tr>"
        return _page("Dev mail", f"<h1>Mail caught in development</h1>"
                                 f"<p>Stored in {escape(str(folder()))}</p><table>{table}</table>")  # fmt: skip

    async def show(request: Request) -> Response:
        if not from_this_machine(request):
            return _refused()
        name = request.path_params["name"]
        path = folder() / name
        if not NAME.match(name) or not path.is_file():
            return _page("Not found", "<h1>No such message</h1>", 404)
        message = _read(path)
        if request.query_params.get("part") == "html":
            return HTMLResponse(_body(message, "html") or "")
        text = _body(message, "plain") or ""
        linked = re.sub(r"(https?://[^\s<]+)", r"<a href='\1'>\1</a>", escape(text, quote=True))
        head = "".join(
            f"<tr><td>{h}</td><td>{escape(str(message[h] or ''))}</td></tr>"
            for h in ("From", "To", "Subject", "Date")
        )
        html_link = f"<p><a href='/dev/mail/{name}?part=html'>HTML version</a></p>"
        return _page(str(message["Subject"] or name),
                     f"<table>{head}</table><pre>{linked}</pre>{html_link}")  # fmt: skip

    return [Route("/dev/mail", index), Route("/dev/mail/{name}", show)]
