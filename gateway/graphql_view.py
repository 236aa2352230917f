"""The GraphQL endpoint: builds the typed context for HTTP requests and websockets."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from domain import versions
from domain.accounts import session_for_token
from domain.clock import utcnow
from gateway.auth import authenticate, bearer_token, is_platform
from gateway.cached_reads import ENTRY_MISSING, LOOKED_UP, SESSION_UNKNOWN
from gateway.dashboard import Dashboard
from gateway.graphql_http import NotARequestObject, bad_request_body, request_body
from gateway.live_sockets import SessionBoundSocket, admit_account, remember_expiry
from gateway.outages import RETRY_AFTER
from gateway.request_ids import request_id_for
from gateway.response_cache import (
    Lookup,
    ResponseCache,
    cache_headers,
    cached_response,
    client_etag,
    keepable,
)
from gateway.socket_limits import SocketLimits
from infra import metrics
from schema.context import Context, Services
from schema.errors import BAD_SESSION, LOG_IN_FIRST, SERVICE_UNAVAILABLE
from schema.root import schema

log = logging.getLogger(__name__)


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages as text frames: browsers' clients (graphql-ws) parse
    only text, and our `encode_json` gives HTTP bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLEndpoint(GraphQL[Context, None]):
    websocket_adapter_class = TextFrames
    # Sockets held to their session and counted (gateway.live_sockets).
    graphql_transport_ws_handler_class = SessionBoundSocket

    def __init__(
        self, services: Services, dashboard: Dashboard, cache: ResponseCache | None = None,
        socket_limits: SocketLimits | None = None,
    ) -> None:  # fmt: skip
        settings = services.settings
        super().__init__(
            schema,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.MAX_SUBSCRIPTIONS_PER_CONNECTION,
            connection_init_wait_timeout=timedelta(
                seconds=settings.WS_CONNECTION_INIT_TIMEOUT_SECONDS
            ),
            graphql_ide="graphiql" if settings.ENVIRONMENT == "development" else None,
        )
        self.services = services
        self.dashboard = dashboard
        self.cache = cache
        self.socket_limits = socket_limits

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await self._run(request, context, root_value)
        except ClientDisconnect:
            # The client gave up while its request waited (seen under overload): nobody
            # reads an answer, and it is no error of ours worth a traceback in the log.
            log.info("client disconnected before its request was read")
            return Response(status_code=499)
        except NotARequestObject:
            return bad_request_body()

    async def _run(self, request: Any, context: Any, root_value: Any) -> Any:
        """Queries go through the response cache when they may (see gateway.response_cache)."""
        if isinstance(request, WebSocket) or self.cache is None:
            return await super().run(request, context, root_value)
        ctx = await self.get_context(request, Response())
        versions.begin_read(utcnow())
        lookup = await self._cache_lookup(request, ctx)
        if isinstance(lookup, Response):
            return lookup
        response = await super().run(request, ctx, root_value)
        if lookup is not None:  # a cacheable query, computed
            metrics.cache_miss()
            await self._cache_store(request, lookup, response)
        return response

    async def _cache_lookup(self, request: Request, ctx: Context) -> Lookup | Response | None:
        cache = self.cache
        caller = ctx.account
        if cache is None or caller is None or ctx.is_platform or request.method != "POST":
            return None
        body = await request.body()
        digest = cache.body_digest(body)
        if digest is None:
            return None
        key = cache.entry_key(caller.id, digest)
        etag = client_etag(request)
        fresh = "no-cache" in request.headers.get("cache-control", "")
        # What the hit path in front (gateway.cached_reads) found already.
        looked_up = request.scope.get("state", {}).get(LOOKED_UP)
        if not await cache.ready():  # a bump of ours is unwritten: nothing from the cache
            return None
        try:
            if looked_up == SESSION_UNKNOWN and ctx.session_token is not None:
                await cache.remember_session(ctx.session_token, caller.id)
            # fresh: computed, then kept; ENTRY_MISSING: asked a moment ago
            hit = None if fresh or looked_up == ENTRY_MISSING else await cache.get(key, etag)
            if hit is not None:
                metrics.cache_hit()
                return cached_response(hit)
            return await cache.prepare(key, caller, etag)
        except RedisError:
            log.warning("response cache unavailable; answering uncached")
            return None

    async def _cache_store(self, request: Request, lookup: Lookup, response: Response) -> None:
        assert self.cache is not None
        scope = versions.current_read()
        if scope is None or response.status_code != 200:
            return
        body = bytes(response.body)
        etag = lookup.etag(body)
        if scope.cacheable and getattr(request.state, "keepable", False):
            try:
                await self.cache.put(lookup, body, scope, etag)
            except RedisError:
                log.warning("response cache unavailable; answer not kept")
        response.headers.update(cache_headers(etag, "miss"))
        if lookup.client_etag and lookup.client_etag == etag:
            # The client holds this very answer (the ETag is its digest): 304, no body.
            response.status_code, response.body = 304, b""
            del response.headers["content-length"]
            del response.headers["content-type"]

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        request.state.keepable = keepable(result.errors)
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        # orjson: a thousand-environment answer encodes several times faster than json.
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            # orjson refuses JSON the standard allows (an escaped lone surrogate): the
            # standard library reads it, so the query limits refuse it with a clear code.
            return json.loads(data)

    def parse_json(self, data: str | bytes) -> object:
        """HTTP bodies (and GET's `variables`): an object or a batch, else 400."""
        return request_body(super().parse_json(data))

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        # `variables=null` on a GET means none (a JSON body of `null` is refused).
        given = {k: v for k, v in dict(params).items()
                 if not (k in ("variables", "extensions") and v.strip() == "null")}  # fmt: skip
        return super().parse_query_params(given)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our own GraphiQL build (web/graphiql.html), not strawberry's CDN page: it works offline.
        return self.dashboard.page(request, "graphiql.html")

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            # Authenticated later, from the connection_init payload (see on_ws_connect).
            request.state.socket_id = uuid.uuid4().hex  # names its slots (gateway.socket_limits)
            return Context(
                services=self.services, request=request, request_id=request_id_for(request.scope),
                client_address=request.client.host if request.client else "unknown",
            )  # fmt: skip
        account, token = await authenticate(request.headers.get("authorization"))
        platform = is_platform(
            request.headers.get("x-platform-token"), self.services.settings.PLATFORM_TOKEN
        )
        client = request.client.host if request.client else "unknown"
        return Context(
            services=self.services, account=account, session_token=token if account else None,
            token_rejected=token is not None and account is None,
            is_platform=platform, client_address=client, request=request,
            request_id=request_id_for(request.scope),
        )  # fmt: skip

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """503 (with Retry-After) when a dependency was down, so proxies and clients retry."""
        response = super().create_response(response_data, sub_response)
        results = response_data if isinstance(response_data, list) else [response_data]
        for result in results:
            codes = {(e.get("extensions") or {}).get("code") for e in result.get("errors") or ()}
            if SERVICE_UNAVAILABLE in codes:
                response.status_code = 503
                response.headers["Retry-After"] = RETRY_AFTER
                break
        return response

    async def on_ws_connect(self, context: Context) -> Any:
        from strawberry.exceptions import ConnectionRejectionError

        payload = context.connection_params or {}
        raw = payload.get("Authorization") or payload.get("authorization")
        if raw is None and payload.get("token"):
            raw = f"Bearer {payload['token']}"
        token = bearer_token(raw)
        found = await session_for_token(token) if token else None
        if found is None:
            message = BAD_SESSION if token else LOG_IN_FIRST
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": message})
        context.account, context.session_token = found[0], token
        context.refresh()
        remember_expiry(context, found[1])
        await admit_account(context, self.socket_limits)
        return UNSET
