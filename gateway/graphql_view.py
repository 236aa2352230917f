"""The GraphQL endpoint: builds the typed context for HTTP requests and websockets."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from gateway.auth import authenticate, is_platform
from gateway.outages import RETRY_AFTER
from schema.context import Context, Services
from schema.errors import SERVICE_UNAVAILABLE
from schema.root import schema


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, services: Services) -> None:
        super().__init__(
            schema,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=services.settings.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )
        self.services = services

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            # Authenticated later, from the connection_init payload (see on_ws_connect).
            return Context(services=self.services, request=request)
        account, token = await authenticate(request.headers.get("authorization"))
        platform = is_platform(
            request.headers.get("x-platform-token"), self.services.settings.PLATFORM_TOKEN
        )
        client = request.client.host if request.client else "unknown"
        return Context(
            services=self.services, account=account, session_token=token,
            is_platform=platform, client_address=client, request=request,
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
        account, token = await authenticate(raw)
        if account is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": "Log in first"})
        context.account, context.session_token = account, token
        context.refresh()
        return UNSET
