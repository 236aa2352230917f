"""A request id for every HTTP request and websocket: in the logs, the jobs and the answer.

Taken from an incoming `X-Request-Id` when it is a sane token (a proxy made it), made up
otherwise; bound for the request's lifetime (infra.logs) and returned in the
`X-Request-Id` response header.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import logs

HEADER = "X-Request-Id"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # Already chosen when the hit path (gateway.cached_reads) handed the request on.
        request_id = state.get("request_id") or logs.new_request_id(
            Headers(scope=scope).get(HEADER)
        )
        state["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = MutableHeaders(scope=message)
                headers[HEADER] = request_id
            await send(message)

        token = logs.set_request_id(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.reset_request_id(token)


def request_id_for(scope: Any) -> str:
    """The id of this request (set by `RequestIdMiddleware`; made here for a scope that did
    not pass through it), the same for every layer that quotes it."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = logs.new_request_id(Headers(scope=scope).get(HEADER))
    return str(state["request_id"])
