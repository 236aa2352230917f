"""Live events across gateway replicas: one Redis pub/sub subscription per process.

Committed changes publish `LiveEvent`s (account ids, reason, owner) on
`settings.events_channel` (workers.dispatch, or the worker's crons). Each gateway process
keeps a single subscription, started on the first listener, and hands every event to the
local listeners of the accounts it names. A slow listener loses events beyond its queue
rather than holding up the others; events are nudges to re-read, not state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from infra import metrics, outages
from infra.redis_options import RedisOptions
from infra.settings import Settings

log = logging.getLogger(__name__)

QUEUE_SIZE = 100
RECONNECT_DELAY = 1.0


class EventBroker:
    def __init__(self, redis_url: str, channel: str, options: RedisOptions | None = None) -> None:
        self.redis_url = redis_url
        self.client_options = (options or RedisOptions.of(Settings(), redis_url)).subscription()
        self.channel = channel
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
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
            account_ids = [str(a) for a in event.get("account_ids", [])]
        except (TypeError, ValueError, AttributeError):
            log.warning("live events: ignoring a malformed message")
            return
        for account_id in account_ids:
            for queue in list(self._listeners.get(account_id, ())):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    log.warning("live events: a slow subscriber missed an event")

    async def listen(self, account_id: str) -> AsyncIterator[dict[str, Any]]:
        """Events naming this account, from now until the caller stops iterating."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
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
