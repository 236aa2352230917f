"""Who may read the gateway's /metrics (CONTRACT section 5).

Metrics name operations, error rates and queue depths: production serves them only to a
scraper holding METRICS_TOKEN (as a bearer token), and not at all without one (404).
Development keeps them open unless a token is set. METRICS_PORT serves them on a port of
their own instead (METRICS_HOST, loopback by default), for a private network.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Iterable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from domain import delivery_metrics
from domain.clock import utcnow
from infra import metrics
from infra.settings import Settings


def refusal(request: Request, settings: Settings) -> Response | None:
    """None when this request may read /metrics, else the answer that refuses it."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        return PlainTextResponse(
            "metrics need the bearer token (METRICS_TOKEN)\n", status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )  # fmt: skip
    if settings.ENVIRONMENT == "production":
        return PlainTextResponse("Not Found\n", status_code=404)
    return None


def serve_port(settings: Settings) -> Callable[[], None] | None:
    """Starts /metrics on METRICS_PORT (in a thread); the outbox gauges are read on this
    event loop at each scrape. Answers the function that stops it, or None (no port)."""
    if not settings.METRICS_PORT:
        return None
    loop = asyncio.get_running_loop()

    def outbox() -> Iterable[metrics.GaugeMetricFamily]:
        future = asyncio.run_coroutine_threadsafe(delivery_metrics.outbox_families(utcnow()), loop)
        try:
            return future.result(timeout=5)
        except Exception:  # database away: the process metrics still answer
            future.cancel()
            return []

    return metrics.serve_http(settings.METRICS_PORT, settings.METRICS_HOST, outbox)
