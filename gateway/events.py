"""Live events across gateway replicas: one Redis pub/sub subscription per process.

Committed changes publish `LiveEvent`s (account ids, reason, owner) on
`settings.events_channel` (workers.dispatch, or the worker's crons). Each gateway process
keeps a single subscription, started on the first listener, and hands every event to the
local listeners of the accounts it names. A slow listener loses events beyond its queue
rather than holding up the others; events are nudges to re-read, not state.

Every listener of an event receives the same `Delivery`, so a check that depends only on
the event and the listener's account (or token) runs once per event, however many sockets
and subscriptions one account holds (`Delivery.once`).

The same channel carries "sessions ended" notices (`{"sessions_ended": [account ids]}`,
published by workers.dispatch when a change that ends sessions commits): they wake the
account's sockets (`watch_sessions`), which re-check their own session and close if it
ended (gateway.live_sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.asyncio import Redis

from infra import metrics, outages
from infra.redis_options import RedisOptions
from infra.settings import Settings

log = logging.getLogger(__name__)

QUEUE_SIZE = 100
RECONNECT_DELAY = 1.0
SESSIONS_ENDED = "sessions_ended"

T = TypeVar("T")


@dataclass(eq=False)
class Delivery:
    """One event, the same object for every local listener."""

    data: dict[str, Any]
    _shared: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)

    async def once(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """`compute()`'s answer, computed by the first listener asking under `key`, awaited
        by the others. A listener that stops waiting does not cancel it for the rest."""
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = asyncio.ensure_future(compute())
        result: T = await asyncio.shield(shared)
        return result


class EventBroker:
    def __init__(self, redis_url: str, channel: str, options: RedisOptions | None = None) -> None:
        self.redis_url = redis_url
        self.client_options = (options or RedisOptions.of(Settings(), redis_url)).subscription()
        self.channel = channel
        self._listeners: dict[str, set[asyncio.Queue[Delivery]]] = defaultdict(set)
        self._session_watches: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def _ensure_pump(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._pump(), name="event-broker")

    async def _pump(self) -> None:
        watch = outages.watch(outages.REDIS)
        while True:
            # No socket timeout: an idle subscription is normal. Health checks keep it honest.
            client = Redis.from_url(self.redis_url, **self.client_options)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    watch.ok()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._dispatch(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if outages.unavailable(exc):
                    watch.failed(exc, "live events")
                else:
                    log.warning("live events: %s: %s; reconnecting", type(exc).__name__, exc)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(max(RECONNECT_DELAY, watch.delay()))

    def _dispatch(self, raw: Any) -> None:
        try:
            event = json.loads(raw)
            ended = [str(a) for a in event.get(SESSIONS_ENDED, [])]
            account_ids = [str(a) for a in event.get("account_ids", [])]
        except (TypeError, ValueError, AttributeError):
            log.warning("live events: ignoring a malformed message")
            return
        for account_id in ended:
            for watch in self._session_watches.get(account_id, ()):
                watch.set()
        delivery = Delivery(event)
        for account_id in account_ids:
            for queue in list(self._listeners.get(account_id, ())):
                try:
                    queue.put_nowait(delivery)
                except asyncio.QueueFull:
                    log.warning("live events: a slow subscriber missed an event")

    @contextlib.contextmanager
    def watch_sessions(self, account_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever a change ending some session of this account commits
        (anywhere); the watcher clears it once it has looked."""
        watch = asyncio.Event()
        self._session_watches[account_id].add(watch)
        self._ensure_pump()
        try:
            yield watch
        finally:
            watches = self._session_watches.get(account_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._session_watches[account_id]

    async def listen(self, account_id: str) -> AsyncIterator[Delivery]:
        """Events naming this account, from now until the caller stops iterating."""
        queue: asyncio.Queue[Delivery] = asyncio.Queue(QUEUE_SIZE)
        self._listeners[account_id].add(queue)
        self._ensure_pump()
        metrics.subscription_opened()
        try:
            while True:
                yield await queue.get()
        finally:
            metrics.subscription_closed()
            listeners = self._listeners.get(account_id)
            if listeners is not None:
                listeners.discard(queue)
                if not listeners:
                    del self._listeners[account_id]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
