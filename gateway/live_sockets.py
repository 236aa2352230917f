"""graphql-transport-ws sockets held to the session that opened them, and counted.

A socket authenticates once, in `connection_init`; without more, it would outlive the
session that opened it (a log-out, a log-out everywhere or a password reset would end the
session over HTTP but not on an open socket). So a socket

- re-checks its session before every operation (query, mutation or subscription), as an
  HTTP request does, and runs the operation as the account the database has now;
- closes (4401, "Session ended") as soon as a change that ends one of its account's
  sessions commits on any gateway (the notice comes through gateway.events), when its
  session expires, and, should a notice be lost, at the next periodic re-check;
- counts against its address from the moment it is accepted and against its account from
  `connection_init` (gateway.socket_limits), across gateways: one over either cap is
  closed with 4429 and a reason naming the cap.

Strawberry's handler is extended through its public class attribute
(`GraphQL.graphql_transport_ws_handler_class`) and the protocol methods it dispatches to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from domain.accounts import session_for_token
from domain.clock import utcnow
from gateway.events import EventBroker
from gateway.socket_limits import REFUSED_CLOSE_CODE, Holder, SocketLimits
from schema.context import Context
from schema.errors import SERVICE_UNAVAILABLE

if TYPE_CHECKING:
    from gateway.graphql_view import GraphQLEndpoint

log = logging.getLogger(__name__)

SESSION_ENDED_CLOSE_CODE = 4401  # graphql-ws clients do not reconnect after it
SESSION_ENDED = "Session ended; log in again"


class SocketLimitReached(Exception):
    """Raised by the connect hook; the handler closes the socket with the reason."""


def socket_id(context: Context) -> str:
    """The socket's id (made in GraphQLEndpoint.get_context), naming its slots."""
    return str(context.request.state.socket_id)


def remember_expiry(context: Context, expires_at: datetime) -> None:
    """When the socket's session expires (the connect hook found it live until then)."""
    context.request.state.session_expires_at = expires_at


def _expiry(context: Context) -> datetime | None:
    return getattr(context.request.state, "session_expires_at", None)


class SessionBoundSocket(BaseGraphQLTransportWSHandler[Context, None]):
    _watcher: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> GraphQLEndpoint:
        return self.view  # type: ignore[return-value]

    async def handle(self) -> None:
        limits = self.endpoint.socket_limits
        address, sid = self.context.client_address, socket_id(self.context)
        if limits is not None and not await limits.admit(Holder.ADDRESS, address, sid):
            await self.websocket.close(REFUSED_CLOSE_CODE, Holder.ADDRESS.refusal)
            return
        try:
            await super().handle()
        finally:
            if self._watcher is not None:
                self._watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._watcher
            if limits is not None:
                await limits.release(Holder.ADDRESS, address, sid)
                if self.context.account is not None:
                    await limits.release(Holder.ACCOUNT, str(self.context.account.id), sid)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketLimitReached as refusal:
            await self.websocket.close(REFUSED_CLOSE_CODE, str(refusal))
            return
        if self.connection_acknowledged and self._watcher is None:
            self._watcher = asyncio.create_task(self._hold_to_session(), name="socket-session")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Every operation starts with the session check an HTTP request gets."""
        if self.connection_acknowledged and not await self._recheck(message):
            return
        await super().handle_subscribe(message)

    async def _recheck(self, message: SubscribeMessage) -> bool:
        context = self.context
        if context.session_token is None:
            return False
        try:
            found = await session_for_token(context.session_token)
        except Exception:
            log.warning("socket: session check failed; operation refused", exc_info=True)
            await self.send_message({
                "id": message["id"], "type": "error",
                "payload": [{"message": "A service is unavailable; try again shortly",
                             "extensions": {"code": SERVICE_UNAVAILABLE}}],
            })  # fmt: skip
            return False
        if found is None:
            await self._close_ended()
            return False
        # What a new request would see: the account as stored now, nothing cached before.
        context.account = found[0]
        context.refresh()
        return True

    async def _close_ended(self) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(SESSION_ENDED_CLOSE_CODE, SESSION_ENDED)

    async def _hold_to_session(self) -> None:
        """Until the session ends: wake on a "sessions ended" notice, at the session's
        expiry, or every recheck interval; look; close if it ended, else renew the slots."""
        context = self.context
        account, token = context.account, context.session_token
        if account is None or token is None:
            return
        settings = context.settings
        limits = self.endpoint.socket_limits
        sid, account_id = socket_id(context), str(account.id)
        expires_at = _expiry(context)
        with _session_notices(context.services.events, account_id) as ended:
            while True:
                wait = settings.WS_SESSION_RECHECK_SECONDS
                if expires_at is not None:
                    wait = min(wait, max(0.0, (expires_at - utcnow()).total_seconds()) + 0.05)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), wait)
                ended.clear()
                try:
                    found = await session_for_token(token)
                except Exception:
                    log.warning("socket: session re-check failed; kept until the next one")
                    continue
                if found is None:
                    await self._close_ended()
                    return
                expires_at = found[1]
                if limits is not None:
                    await limits.admit(Holder.ADDRESS, context.client_address, sid)
                    await limits.admit(Holder.ACCOUNT, account_id, sid)


@contextlib.contextmanager
def _session_notices(events: Any, account_id: str) -> Iterator[asyncio.Event]:
    if isinstance(events, EventBroker):
        with events.watch_sessions(account_id) as watch:
            yield watch
    else:  # no live events (tests without Redis): the periodic re-check alone
        yield asyncio.Event()


async def admit_account(context: Context, limits: SocketLimits | None) -> None:
    """From the connect hook, once the socket's account is known."""
    if context.account is None or limits is None:
        return
    if not await limits.admit(Holder.ACCOUNT, str(context.account.id), socket_id(context)):
        raise SocketLimitReached(Holder.ACCOUNT.refusal)
