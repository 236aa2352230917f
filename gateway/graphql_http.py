"""GraphQL over HTTP: `application/graphql-response+json` for clients that accept it.

With that media type the spec asks for a 4xx status when the request itself is at fault
(the document does not parse or validate, the variables do not coerce) and for no `data`
entry then. Strawberry answers such requests `200` with `"data": null`; this ASGI wrapper
re-labels the answer, leaving `application/json` clients (and every other route) as they
were. A request error is recognised by its shape: no data, and no error with a `path`
(errors raised while executing always carry one).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import ErrorCode

MEDIA_TYPE = "application/graphql-response+json"


class NotARequestObject(ValueError):
    """A JSON body that is no object (nor a batch list): `"hello"`, `123`, `null`."""


def request_body(data: object) -> object:
    """The decoded body, if it can be a GraphQL request; strawberry would call `.get` on
    anything else and answer 500."""
    if not isinstance(data, dict | list):
        raise NotARequestObject(type(data).__name__)
    return data


def bad_request_body() -> JSONResponse:
    """400 with a GraphQL-over-HTTP error body: the request was never a GraphQL request."""
    message = "The request body must be a JSON object with a `query`"
    error = {"message": message, "extensions": {"code": ErrorCode.VALIDATION.value}}
    return JSONResponse({"errors": [error]}, status_code=400)


def accepts_graphql_response(scope: Scope) -> bool:
    accept = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept"), "")
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == MEDIA_TYPE:
            quality = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


def is_request_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and body.get("data") is None
        and bool(body.get("errors"))
        and all(isinstance(e, dict) and "path" not in e for e in body["errors"])
    )


class GraphQLResponses:
    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != self.path
            or not (accepts_graphql_response(scope))
        ):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def relabelling_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", ())).get(b"content-type", b"")
                if message["status"] == 200 and content_type.startswith(b"application/json"):
                    start = message  # held until the body is complete
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await self._send_relabelled(send, start, b"".join(chunks))
                return
            await send(message)

        await self.app(scope, receive, relabelling_send)

    @staticmethod
    async def _send_relabelled(send: Send, start: Message, body: bytes) -> None:
        status = 200
        try:
            parsed = json.loads(body) if body.startswith(b'{"data":null') else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and is_request_error(parsed):
            status = 400
            body = json.dumps({k: v for k, v in parsed.items() if k != "data"}).encode()
        headers = [(k, v) for k, v in start.get("headers", ())
                   if k not in (b"content-type", b"content-length")]  # fmt: skip
        headers += [(b"content-type", f"{MEDIA_TYPE}; charset=utf-8".encode()),
                    (b"content-length", str(len(body)).encode())]  # fmt: skip
        await send({**start, "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
