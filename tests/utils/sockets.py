"""graphql-transport-ws from the client's side, against an app served by uvicorn in-process
(the httpx ASGI transport speaks no websockets)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.utils.processes import free_port


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """The app (its lifespan already entered by the caller) on a free port; its http URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                            timeout_graceful_shutdown=1)  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def open_socket(
    url: str, token: str | None, *, ack: bool = True, init: bool = True
) -> ClientConnection:
    """A socket that sent `connection_init` with the bearer token (and got its ack)."""
    ws = await connect(url.replace("http://", "ws://") + "/graphql",
                       subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]  # fmt: skip
    if not init:
        return ws
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    if ack:
        assert (await next_message(ws))["type"] == "connection_ack"
    return ws


async def next_message(ws: ClientConnection, within: float = 5) -> dict[str, Any]:
    frame = await asyncio.wait_for(ws.recv(), within)
    assert isinstance(frame, str)
    message: dict[str, Any] = json.loads(frame)
    return message


async def run(ws: ClientConnection, op_id: str, query: str, **variables: Any) -> dict[str, Any]:
    """Send one operation; its first message (`next`, or `error`)."""
    await subscribe(ws, op_id, query, **variables)
    return await next_message(ws)


async def subscribe(ws: ClientConnection, op_id: str, query: str, **variables: Any) -> None:
    payload = {"query": query, "variables": variables}
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


async def closed(ws: ClientConnection, within: float = 2) -> tuple[int, str]:
    """The close code and reason the server sent, waiting at most `within` seconds (other
    messages before the close are skipped)."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, "closed without a close frame from the server"
        return exc.rcvd.code, exc.rcvd.reason
    raise AssertionError("unreachable")
