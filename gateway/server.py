"""`collab serve`: uvicorn, with a shutdown that drains (see gateway.draining).

On SIGTERM or Ctrl-C: stop accepting connections, close websockets with 1001, let HTTP
requests in flight finish within `GATEWAY_SHUTDOWN_GRACE_SECONDS`, then run the lifespan's
shutdown (database and Redis connections closed).
"""

from __future__ import annotations

import logging
from typing import Any

import uvicorn

from gateway.adapters.uvicorn_server import ShutdownHookServer
from gateway.draining import Drain

log = logging.getLogger(__name__)


class DrainingServer(ShutdownHookServer):
    """Stops listening, closes websockets, then uvicorn's own graceful shutdown."""

    def __init__(self, config: uvicorn.Config, drain: Drain | None) -> None:
        super().__init__(config)
        self.drain = drain

    async def before_shutdown(self) -> None:
        log.info("shutting down: draining requests and websockets")
        if self.drain is not None:
            await self.drain.close_websockets()

    def after_shutdown(self) -> None:
        if self.drain is not None and self.drain.in_flight:
            log.warning("%d request(s) cut off by the grace period", self.drain.in_flight)


def find_drain(app: Any) -> Drain | None:
    state = getattr(app, "state", None)
    drain = getattr(state, "drain", None)
    return drain if isinstance(drain, Drain) else None


def forwarded_options(trusted_proxies: str) -> dict[str, Any]:
    """uvicorn believes X-Forwarded-For from the listed proxies only (TRUSTED_PROXIES);
    with none listed it is ignored and the peer is the client. uvicorn's own default
    trusts 127.0.0.1, which lets anyone on the host (or anything it proxies without
    rewriting the header) pick a new address per request and escape per-address limits."""
    proxies = trusted_proxies.strip()
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


def serve(app: Any, *, host: str, port: int, grace: float, **options: Any) -> None:
    options.setdefault("proxy_headers", False)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None,
        timeout_graceful_shutdown=max(1, round(grace)), **options,
    )  # fmt: skip
    DrainingServer(config, find_drain(app)).run()
