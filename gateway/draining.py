"""Graceful shutdown: requests in flight finish, websockets are told "going away" (1001).

uvicorn (see `gateway.server`) stops accepting connections on SIGTERM and waits up to
`GATEWAY_SHUTDOWN_GRACE_SECONDS` for HTTP requests in flight. Websockets would otherwise be cut
with 1012 (service restart); `Drain.close_websockets()` first sends each a close frame
with 1001 and ends the application's side of it, so subscriptions stop and clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

GOING_AWAY = 1001


class _Socket:
    def __init__(self, send: Send) -> None:
        self.send = send
        self.closed = False  # a close frame went out (ours or the application's)
        self.going_away = asyncio.Event()


class Drain:
    """The open websockets and the HTTP requests in flight of one gateway process."""

    def __init__(self) -> None:
        self.sockets: set[_Socket] = set()
        self.in_flight = 0
        self.draining = False
        self.all_closed = asyncio.Event()

    async def close_websockets(self, within: float = 2.0) -> int:
        """Sends 1001 to every open websocket and waits (briefly) for their handlers."""
        self.draining = True
        sockets = list(self.sockets)
        for sock in sockets:
            if not sock.closed:
                sock.closed = True
                with contextlib.suppress(Exception):
                    await sock.send({"type": "websocket.close", "code": GOING_AWAY,
                                     "reason": "server shutting down"})  # fmt: skip
            sock.going_away.set()
        if self.sockets:
            self.all_closed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await self.all_closed.wait()
        if sockets:
            log.info("closed %d websocket(s) with 1001 going away", len(sockets))
        return len(sockets)


class DrainMiddleware:
    """Counts HTTP requests in flight and keeps a handle on every websocket."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            self.drain.in_flight += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.drain.in_flight -= 1
        else:
            await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.drain.draining:
            await send({"type": "websocket.close", "code": GOING_AWAY})
            return
        sock = _Socket(send)

        async def guarded_send(message: Message) -> None:
            if sock.closed:
                return  # we said goodbye already: drop whatever the app still sends
            if message["type"] == "websocket.close":
                sock.closed = True
            await send(message)

        async def guarded_receive() -> Message:
            if sock.going_away.is_set():
                return {"type": "websocket.disconnect", "code": GOING_AWAY}
            incoming = asyncio.ensure_future(receive())
            leaving = asyncio.ensure_future(sock.going_away.wait())
            try:
                done, _ = await asyncio.wait({incoming, leaving},
                                             return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            finally:
                leaving.cancel()
            if incoming in done:
                return incoming.result()
            incoming.cancel()
            return {"type": "websocket.disconnect", "code": GOING_AWAY}

        self.drain.sockets.add(sock)
        try:
            await self.app(scope, guarded_receive, guarded_send)
        finally:
            self.drain.sockets.discard(sock)
            if not self.drain.sockets:
                self.drain.all_closed.set()
