"""The Starlette application and its lifespan (Tortoise, Redis, after-commit dispatch)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from tortoise import Tortoise

from domain import accounts, delivery_metrics, paas
from domain.clock import utcnow
from domain.migrations import ensure_migrated
from gateway import metrics_access
from gateway import redis as redis_client
from gateway.cached_reads import CachedReads
from gateway.dashboard import Dashboard
from gateway.draining import Drain, DrainMiddleware
from gateway.events import EventBroker
from gateway.graphql_http import GraphQLResponses
from gateway.graphql_view import GraphQLEndpoint
from gateway.guards import RequestGuards, install_log_redaction
from gateway.health import Dependencies
from gateway.mailcatcher import dev_mail_routes
from gateway.outages import ServiceUnavailableMiddleware
from gateway.pages import page_routes
from gateway.rate_limits import RedisRateLimiter
from gateway.request_ids import RequestIdMiddleware
from gateway.response_cache import ResponseCache, schema_fingerprint
from gateway.socket_limits import SocketLimits
from infra import collector, metrics
from infra.db import tortoise_config
from infra.redis_options import RedisOptions
from infra.settings import Settings, get_settings
from schema.context import Services
from workers.dispatch import RedisAfterCommit


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    install_log_redaction()
    accounts.hashing.configure(settings.PASSWORD_HASH_THREADS, settings.PASSWORD_HASH_BACKLOG)
    redis_options = RedisOptions.of(settings)  # every Redis client below is built from it
    redis = redis_client.connect(redis_options, settings.queue_name)
    paas.use_backend(paas.for_settings(settings))  # builtin, or the platform's API
    after_commit = RedisAfterCommit(redis, settings)
    services = Services(
        settings=settings,
        after_commit=after_commit,
        limiter=RedisRateLimiter(settings),
        events=EventBroker(settings.redis_url, settings.events_channel, redis_options),
    )
    cache = None
    if settings.RESPONSE_CACHE_ENABLED:
        cache = ResponseCache(redis, settings, schema_fingerprint(), after_commit)
    dashboard = Dashboard(settings.dashboard_dir)
    graphql = GraphQLEndpoint(services, dashboard, cache, SocketLimits(redis, settings))
    dependencies = Dependencies(redis, settings.RECONNECT_BACKOFF_MAX_SECONDS)
    drain = Drain()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # uvicorn serves requests in tasks that do not inherit the lifespan's context:
        # without the global fallback every request fails with "No TortoiseContext".
        await Tortoise.init(
            config=tortoise_config(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS),
            _enable_global_fallback=True,
        )
        try:
            await ensure_migrated()
            collector.tune(settings.GC_GEN0_THRESHOLD)
            probe = asyncio.create_task(dependencies.watch_forever(), name="dependency-probe")
            stop_metrics = metrics_access.serve_port(settings)
            try:
                yield
            finally:
                if stop_metrics is not None:
                    await asyncio.to_thread(stop_metrics)
                dependencies.stopped = True
                probe.cancel()
                await asyncio.wait({probe}, timeout=5)
        finally:
            await Tortoise.close_connections()
            await redis.aclose()
            if cache is not None:
                await cache.aclose()
            if isinstance(services.events, EventBroker):
                await services.events.close()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        """200 when the database and Redis answer; 503 naming what is down otherwise."""
        checks = await dependencies.check()
        down = sorted(name for name, state in checks.items() if state != "ok")
        body = {"ready": not down, "down": down, **checks}
        return JSONResponse(body, status_code=503 if down else 200)

    async def metrics_endpoint(request: Request) -> Response:
        refused = metrics_access.refusal(request, settings)
        if refused is not None:
            return refused
        try:
            extra = await delivery_metrics.outbox_families(utcnow())
        except Exception:  # database away: the process metrics still answer
            extra = []
        return Response(metrics.render(extra), media_type=metrics.CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *page_routes(services, redis),
            *dashboard.routes(),
            *(dev_mail_routes() if settings.ENVIRONMENT == "development" else []),
        ],
        # Outermost first: cached answers (keeping the promises of the layers it skips,
        # see gateway.cached_reads), the request id, refusing new work while draining, the
        # request guards (body size, time limit, page headers), a database that is down,
        # and the GraphQL-over-HTTP media type.
        middleware=[
            Middleware(
                CachedReads,
                cache=cache,
                drain=drain,
                max_body=settings.MAX_BODY_BYTES,
                timeout=settings.REQUEST_TIMEOUT_SECONDS,
            ),
            Middleware(RequestIdMiddleware),
            Middleware(DrainMiddleware, drain=drain),
            Middleware(RequestGuards, settings=settings),
            Middleware(ServiceUnavailableMiddleware),
            Middleware(GraphQLResponses),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.redis = redis
    app.state.drain = drain
    app.state.response_cache = cache
    return app
