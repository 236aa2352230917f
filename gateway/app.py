"""The Starlette application and its lifespan (Tortoise, Redis, after-commit dispatch)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from tortoise import Tortoise
from tortoise.connection import get_connection

from collab.db import tortoise_config
from collab.dispatch import RedisAfterCommit
from collab.mailcatcher import dev_mail_routes
from collab.migrations import ensure_migrated
from collab.settings import Settings, get_settings
from gateway import redis as redis_client
from gateway.dashboard import Dashboard
from gateway.events import EventBroker
from gateway.graphql_http import GraphQLResponses
from gateway.graphql_view import GraphQLEndpoint
from gateway.guards import RequestGuards, install_log_redaction
from gateway.pages import page_routes
from gateway.rate_limits import RedisRateLimiter
from gateway.response_cache import ResponseCache, schema_fingerprint
from schema.context import Services


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    install_log_redaction()
    redis = redis_client.connect(settings.redis_url, settings.queue_name)
    services = Services(
        settings=settings,
        after_commit=RedisAfterCommit(redis, settings),
        limiter=RedisRateLimiter(settings),
        events=EventBroker(settings.redis_url, settings.events_channel),
    )
    cache = None
    if settings.RESPONSE_CACHE_ENABLED:
        cache = ResponseCache(redis, settings, schema_fingerprint())
    dashboard = Dashboard(settings.dashboard_dir)
    graphql = GraphQLEndpoint(services, dashboard, cache)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # uvicorn serves requests in tasks that do not inherit the lifespan's context:
        # without the global fallback every request fails with "No TortoiseContext".
        await Tortoise.init(
            config=tortoise_config(settings.DATABASE_URL), _enable_global_fallback=True
        )
        try:
            await ensure_migrated()
            yield
        finally:
            await Tortoise.close_connections()
            await redis.aclose()
            if isinstance(services.events, EventBroker):
                await services.events.close()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await get_connection("default").execute_query("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *page_routes(services),
            *dashboard.routes(),
            *(dev_mail_routes() if settings.ENVIRONMENT == "development" else []),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestGuards, settings=settings), Middleware(GraphQLResponses)],
    )
    app.state.services = services
    app.state.redis = redis
    return app
