"""ASGI guards in front of every route: body size, time limit, headers on HTML pages.

They sit outside the GraphQL view so that a hostile request is refused before any JSON or
GraphQL parsing: a body above `MAX_BODY_BYTES` gets `413` while it is still arriving, and
a request still running after `REQUEST_TIMEOUT_SECONDS` is cancelled (its transaction
rolls back) and answered `504` with the code `TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.request_ids import request_id_for
from infra import logs
from infra.settings import Settings

log = logging.getLogger(__name__)

# For every HTML answer that did not set its own (the invitation pages set stricter ones).
# The dashboard and GraphiQL (our own build, no CDN) set a stricter same-origin CSP in
# gateway/dashboard.py, the pages theirs in gateway/pages/rendering.py; this is the floor.
HTML_HEADERS = {
    "content-security-policy": "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _error_body(code: str, message: str, request_id: str) -> bytes:
    error = {"message": message, "extensions": {"code": code, "requestId": request_id}}
    return json.dumps({"errors": [error]}).encode()


async def send_error(send: Send, status: int, code: str, message: str, request_id: str) -> None:
    body = _error_body(code, message, request_id)
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class RequestGuards:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.MAX_BODY_BYTES
        self.timeout = settings.REQUEST_TIMEOUT_SECONDS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await send_error(send, 413, "VALIDATION", self._too_large(), request_id)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = _with_html_headers(message)
            await send(message)

        try:
            async with asyncio.timeout(self.timeout):
                await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await send_error(send, 413, "VALIDATION", self._too_large(), request_id)
        except TimeoutError:
            log.warning("request %s %s timed out (request %s)", scope.get("method"),
                        logs.redact_request_path(scope.get("path", "")), request_id)  # fmt: skip
            if not started:
                await send_error(
                    send, 504, "TIMEOUT",
                    f"The request took longer than {self.timeout:g} s and was stopped",
                    request_id,
                )  # fmt: skip

    def _too_large(self) -> str:
        return f"The request body is larger than {self.max_body} bytes"


def _with_html_headers(message: Message) -> Message:
    headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
    names = {k.lower() for k, _ in headers}
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if not content_type.startswith(b"text/html"):
        return message
    for name, value in HTML_HEADERS.items():
        if name.encode() not in names:
            headers.append((name.encode(), value.encode()))
    return {**message, "headers": headers}


def install_log_redaction() -> None:
    """No link token in uvicorn's logs, whatever formats them (infra.logs)."""
    logs.install_redaction()
