"""The hit path: a cached answer served in front of the middleware stack, from the bearer
token alone, in one Redis round trip and without the database.

Profiled under load, a hit through the whole stack spent most of its time on the session
look-up in PostgreSQL (the statement and the pool's reset of the connection), then on the
Redis round trip and on the layers of ASGI middleware each wrapping `send`. This layer sits
outermost, in front of all of them, and only for `POST /graphql` with a bearer token and a
complete body within `MAX_BODY_BYTES`. It keeps what the layers behind it promise for the
requests it answers:

- request id: the same id rules (`X-Request-Id` reused when sane, else made up), in the
  response header and bound for the logs;
- drain: the request counts as in flight;
- guards: the body is read under `REQUEST_TIMEOUT_SECONDS` (a client that does not send it
  gets `504`, as behind the guards); a declared body over `MAX_BODY_BYTES` or a chunked one
  is left to them;
- GraphQL over HTTP: clients that accept `application/graphql-response+json` get it;
- metrics: the hit is counted.

Anything else (no session remembered for the token, no entry, a body that is no cacheable
query, platform calls, `Cache-Control: no-cache`, Redis away, a version bump of this
gateway not yet written (gateway.response_cache), an answer the GraphQL over
HTTP layer might re-label as a request error) goes down the normal path with the body
replayed, under the same request id, told what the look-up found so that it does not ask
Redis again.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.draining import Drain
from gateway.graphql_http import MEDIA_TYPE, accepts_graphql_response
from gateway.guards import send_error
from gateway.request_ids import HEADER
from gateway.response_cache import ResponseCache, SessionLookup
from infra import logs, metrics

log = logging.getLogger(__name__)

# What the normal path learns from a look-up done here (scope["state"][LOOKED_UP]).
LOOKED_UP = "response_cache"
SESSION_UNKNOWN = "session-unknown"  # no session remembered: remember it once authenticated
ENTRY_MISSING = "entry-missing"  # session remembered, no current entry: compute and keep

_JSON = b"application/json"
_GRAPHQL_RESPONSE = f"{MEDIA_TYPE}; charset=utf-8".encode()
_REQUEST_ID = HEADER.lower().encode()


class CachedReads:
    def __init__(
        self, app: ASGIApp, cache: ResponseCache | None, drain: Drain, max_body: int,
        timeout: float, path: str = "/graphql",
    ) -> None:  # fmt: skip
        self.app = app
        self.cache = cache
        self.drain = drain
        self.max_body = max_body
        self.timeout = timeout
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.cache is None
            or scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
        ):
            await self.app(scope, receive, send)
            return
        token = length = None
        etag = ""
        incoming_id: str | None = None
        for name, value in scope["headers"]:
            if name == b"authorization" and token is None:  # the first, as Starlette reads it
                scheme, _, rest = value.partition(b" ")
                if scheme.lower() == b"bearer" and rest.strip():
                    token = rest.strip().decode("latin-1")
            elif name == b"content-length":
                length = value
            elif name == b"if-none-match":
                etag = value.decode("latin-1").strip()
            elif name == _REQUEST_ID:
                incoming_id = value.decode("latin-1")
            elif name == b"x-platform-token" or (name == b"cache-control" and b"no-cache" in value):
                token = None
                break
            elif name == b"transfer-encoding":
                length = None
                break
        if token is None or length is None or not length.isdigit() or int(length) > self.max_body:
            await self.app(scope, receive, send)
            return
        await self._serve(scope, receive, send, token, etag, incoming_id)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, token: str, etag: str,
                     incoming_id: str | None) -> None:  # fmt: skip
        assert self.cache is not None
        request_id = logs.new_request_id(incoming_id)
        bound = logs.set_request_id(request_id)
        self.drain.in_flight += 1
        first: Message | None = None
        try:
            try:
                async with asyncio.timeout(self.timeout):
                    first = await _whole_body(receive, self.max_body)
                    found = None
                    if first["type"] == "http.request":
                        found = await self._look_up(first["body"], token, etag)
            except TimeoutError:
                log.warning("request POST %s timed out (request %s)", self.path, request_id)
                await send_error(send, 504, "TIMEOUT",
                                 f"The request took longer than {self.timeout:g} s and was stopped",
                                 request_id)  # fmt: skip
                return
            state = scope.setdefault("state", {})
            state["request_id"] = request_id
            if found is not None and found.hit is not None:
                hit = found.hit
                if hit.body is None or not (
                    hit.body.startswith(b'{"data":null') and accepts_graphql_response(scope)
                ):
                    metrics.cache_hit()
                    await self._send_hit(scope, send, request_id, hit.etag, hit.body)
                    return
            elif found is not None:
                state[LOOKED_UP] = ENTRY_MISSING if found.account_id else SESSION_UNKNOWN
        finally:
            self.drain.in_flight -= 1
            logs.reset_request_id(bound)
        await self.app(scope, _replaying(first, receive) if first else receive, send)

    async def _look_up(self, body: bytes, token: str, etag: str) -> SessionLookup | None:
        assert self.cache is not None
        if not self.cache.trusted:  # a bump of ours is unwritten: the normal path decides
            return None
        digest = self.cache.body_digest(body)
        if digest is None:
            return None
        try:
            return await self.cache.get_for_token(token, digest, etag)
        except RedisError:
            return None  # the normal path answers uncached (and says so in the log)

    @staticmethod
    async def _send_hit(scope: Scope, send: Send, request_id: str, etag: str,
                        body: bytes | None) -> None:  # fmt: skip
        headers = [
            (b"etag", etag.encode()), (b"cache-control", b"private, no-cache"),
            (b"vary", b"Authorization"), (b"x-cache", b"hit"),
            (_REQUEST_ID, request_id.encode()),
        ]  # fmt: skip
        if body is None:  # the client's copy is current
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        media = _GRAPHQL_RESPONSE if accepts_graphql_response(scope) else _JSON
        headers += [(b"content-type", media), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _whole_body(receive: Receive, limit: int) -> Message:
    """The request's body as one message (uvicorn hands a small one over in one piece), or
    the first message that is no part of it (a disconnect)."""
    message = await receive()
    if message["type"] != "http.request" or not message.get("more_body", False):
        return message
    chunks = [message.get("body", b"")]
    size = len(chunks[0])
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            return message  # the client went away: nothing to replay but that
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:  # more than it declared: the guards refuse it
            break
    return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def _replaying(first: Message, receive: Receive) -> Receive:
    """The body read here, then the rest of the conversation (a disconnect, say)."""
    pending: list[Message] = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
