"""A thin GraphQL client over the real ASGI app (httpx, no network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Response:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        return self.body.get("data") or {}

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def payload(self, name: str) -> dict[str, Any]:
        """A mutation's payload, asserting the transport itself did not fail."""
        assert not self.errors, self.errors
        return self.data[name]

    def ok(self, name: str) -> dict[str, Any]:
        """A mutation's payload, asserting it succeeded without user errors."""
        result = self.payload(name)
        assert result["errors"] == [], result["errors"]
        return result


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, token, dict(self.headers))

    async def __call__(self, query: str, **variables: Any) -> Response:
        headers = dict(self.headers)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        r = await self.http.post("/graphql", json={"query": query, "variables": variables},
                                 headers=headers)  # fmt: skip
        return Response(r.status_code, r.json())
