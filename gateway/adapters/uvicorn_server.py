"""uvicorn's server below its public API: a shutdown that first stops listening and then
lets the application drain (gateway.server).

Relied on (uvicorn 0.3x-0.5x): `Server.shutdown(sockets)` runs once on exit, before the
lifespan's shutdown; `Server.servers` holds the listening asyncio servers.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Awaitable, Callable

import uvicorn

from infra.adapters import AdapterBroken, require_parameters

ADAPTER = "gateway.adapters.uvicorn_server"


class ShutdownHookServer(uvicorn.Server):
    """uvicorn's server; on shutdown it stops listening, awaits `before_shutdown`, then
    runs uvicorn's own shutdown (requests in flight, then the lifespan), then
    `after_shutdown`."""

    before_shutdown: Callable[[], Awaitable[None]] | None = None
    after_shutdown: Callable[[], None] | None = None

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections while we say goodbye
        if self.before_shutdown is not None:
            await self.before_shutdown()
        await super().shutdown(sockets)
        if self.after_shutdown is not None:
            self.after_shutdown()


def verify() -> None:
    require_parameters(ADAPTER, uvicorn.Server.shutdown, "sockets")
    server = uvicorn.Server(uvicorn.Config(app="gateway.app:app"))
    if "servers" in vars(server):
        return
    if "self.servers" not in inspect.getsource(uvicorn.Server.startup):
        raise AdapterBroken(ADAPTER, "uvicorn.Server no longer keeps its listeners in .servers")
