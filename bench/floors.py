"""The floors our dashboard is measured against, served like ours by uvicorn over HTTP.

- graphql-core: `graphql_sync` over the project's own SDL with default resolvers over the
  dashboard's result held as dicts in memory (no database, no authorization): the cost of
  a GraphQL engine doing no work of its own.
- bare Starlette: the same response bytes, from memory.

`uvicorn bench.floors:app` reads BENCH_FLOOR_DATA, a JSON file written by the bench:
{"sdl": ..., "sizes": {"100": {"data": {...}, "body": "..."}}}.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from graphql import GraphQLSchema, build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def load_floor_data(path: str) -> tuple[GraphQLSchema, dict[str, Any], dict[str, bytes]]:
    with open(path) as f:
        raw = json.load(f)
    results = {size: entry["data"] for size, entry in raw["sizes"].items()}
    bodies = {size: entry["body"].encode() for size, entry in raw["sizes"].items()}
    return build_schema(raw["sdl"]), results, bodies


def graphql_core_once(schema: GraphQLSchema, query: str, data: dict[str, Any]) -> dict[str, Any]:
    result = graphql_sync(schema, query, root_value=data)
    if result.errors:
        raise RuntimeError(f"graphql-core floor failed: {result.errors[:3]}")
    return result.data or {}


def graphql_core_seconds(schema: GraphQLSchema, query: str, data: dict[str, Any],
                         repeat: int) -> list[float]:  # fmt: skip
    """In-process wall time of parse, validate and execute, one request at a time."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        graphql_core_once(schema, query, data)
        times.append(time.perf_counter() - started)
    return times


def create_app(path: str) -> Starlette:
    schema, results, bodies = load_floor_data(path)

    async def graphql_core(request: Request) -> Response:
        payload = await request.json()
        result = graphql_sync(
            schema, payload["query"], root_value=results[request.path_params["size"]],
            variable_values=payload.get("variables"),
        )  # fmt: skip
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(body)

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(bodies[request.path_params["size"]], media_type="application/json")

    return Starlette(routes=[
        Route("/graphql-core/{size}", graphql_core, methods=["POST"]),
        Route("/bare/{size}", bare, methods=["POST"]),
    ])  # fmt: skip


def __getattr__(name: str) -> Any:
    # `uvicorn bench.floors:app`: built on first access, so importing this module is cheap.
    if name == "app":
        return create_app(os.environ["BENCH_FLOOR_DATA"])
    raise AttributeError(name)
