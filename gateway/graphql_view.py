"""The GraphQL endpoint: builds the typed context for HTTP requests and websockets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from gateway.auth import authenticate, is_platform
from gateway.request_ids import request_id_for
from schema.context import Context, Services
from schema.root import schema


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, services: Services) -> None:
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

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            # Authenticated later, from the connection_init payload (see on_ws_connect).
            return Context(
                services=self.services, request=request, request_id=request_id_for(request.scope)
            )
        account, token = await authenticate(request.headers.get("authorization"))
        platform = is_platform(
            request.headers.get("x-platform-token"), self.services.settings.PLATFORM_TOKEN
        )
        client = request.client.host if request.client else "unknown"
        return Context(
            services=self.services, account=account, session_token=token,
            is_platform=platform, client_address=client, request=request,
            request_id=request_id_for(request.scope),
        )  # fmt: skip

    async def on_ws_connect(self, context: Context) -> Any:
        from strawberry.exceptions import ConnectionRejectionError

        payload = context.connection_params or {}
        raw = payload.get("Authorization") or payload.get("authorization")
        if raw is None and payload.get("token"):
            raw = f"Bearer {payload['token']}"
        account, token = await authenticate(raw)
        if account is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": "Log in first"})
        context.account, context.session_token = account, token
        context.refresh()
        return UNSET
