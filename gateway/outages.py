"""A dependency that is down answers `503 Service Unavailable`, never a 500.

GraphQL errors raised while the database is away are coded `SERVICE_UNAVAILABLE` by the
schema's error masking (schema/errors.py); this middleware catches what escapes before
the schema runs (authenticating a bearer token reads the database) and the pages.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import logs, outages

log = logging.getLogger(__name__)

CODE = "SERVICE_UNAVAILABLE"
MESSAGE = "The service is briefly unavailable (a dependency is down); try again shortly"
RETRY_AFTER = "5"


def body(request_id: str | None) -> bytes:
    extensions = {"code": CODE, **({"requestId": request_id} if request_id else {})}
    return json.dumps({"data": None, "errors": [{"message": MESSAGE,
                                                 "extensions": extensions}]}).encode()  # fmt: skip


class ServiceUnavailableMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not outages.unavailable(exc):
                raise
            outages.watch(outages.dependency_of(exc)).failed(exc, "gateway request")
            log.info("answered 503: %s: %s", type(exc).__name__, exc)
            payload = body(logs.current_request_id())
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", RETRY_AFTER.encode()),
                (b"content-length", str(len(payload)).encode()),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": payload})
