"""`collab paas-sim`: a small platform speaking CONTRACT section 6, for development and tests.

Environments live in memory per platform account (`ownerUid`). Fault switches make it
misbehave per method (or `*` for all): `latency` (seconds before answering), `outage`
(HTTP 503), `hang` (never answers), `garbage` (200 with a body that is not JSON), and
`refuse` (answers `result` != 0 with that `error` text). It records every call it
answered or dropped, so a test can tell how often each method was called.

Control endpoints (JSON, no token; bind the simulator to loopback):
- `GET /_sim/calls` — `[{method, params}]` (the session token left out)
- `POST /_sim/faults` — `{"method": "startenv" | "*", "latency": 0.5, "outage": true,
  "hang": true, "garbage": true, "refuse": "text", "result": 99}`; `{}` for a method clears it
- `POST /_sim/environments` — `{"ownerUid", "envName", "displayName", "status"}` adds or
  replaces one; `DELETE /_sim/environments/<envName>` removes one
- `POST /_sim/reset` — no environments, no faults, no calls
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from infra.paas_client import API_PREFIX, APPID, NO_SUCH_ENVIRONMENT

RUNNING, STOPPED = 1, 2
INVALID_SESSION = 702
ALREADY_EXISTS = 12
METHODS = ("getenvs", "startenv", "stopenv", "deleteenv", "restartnodes", "cloneenv",
           "createenvironment")  # fmt: skip


@dataclass
class SimEnvironment:
    owner_uid: str
    name: str
    display_name: str
    status: int = RUNNING

    def info(self) -> dict[str, Any]:
        return {"env": {"envName": self.name, "displayName": self.display_name,
                        "status": self.status}}  # fmt: skip


@dataclass
class Platform:
    token: str
    environments: dict[str, SimEnvironment] = field(default_factory=dict)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def fault(self, method: str) -> dict[str, Any]:
        return {**self.faults.get("*", {}), **self.faults.get(method, {})}

    def answer(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        if params.get("appid") != APPID or params.get("session") != self.token:
            return {"result": INVALID_SESSION, "error": "invalid session"}
        envs = self.environments
        if method == "getenvs":
            uid = params.get("ownerUid", "")
            return {"result": 0, "infos": [e.info() for e in envs.values() if e.owner_uid == uid]}
        if method == "createenvironment":
            name = params.get("envName", "")
            if name in envs:
                return {"result": ALREADY_EXISTS, "error": f"environment {name} already exists"}
            envs[name] = SimEnvironment(params.get("ownerUid", ""), name,
                                        params.get("displayName") or name)  # fmt: skip
            return {"result": 0}
        source = envs.get(params.get("srcEnvName" if method == "cloneenv" else "envName", ""))
        if source is None:
            return {"result": NO_SUCH_ENVIRONMENT, "error": "no such environment"}
        if method == "startenv":
            source.status = RUNNING
        elif method == "stopenv":
            source.status = STOPPED
        elif method == "deleteenv":
            del envs[source.name]
        elif method == "cloneenv":
            target = params.get("dstEnvName", "")
            if not target or target in envs:
                return {"result": ALREADY_EXISTS, "error": f"environment {target} already exists"}
            envs[target] = SimEnvironment(source.owner_uid, target, source.display_name,
                                          source.status)  # fmt: skip
        elif method != "restartnodes":
            return {"result": 1, "error": f"unknown method {method}"}
        return {"result": 0}


def create_app(token: str) -> Starlette:
    platform = Platform(token)

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        params = {k: str(v) for k, v in (await request.form()).items()}
        fault = platform.fault(method)
        platform.calls.append({"method": method,
                               "params": {k: v for k, v in params.items() if k != "session"}})  # fmt: skip
        if fault.get("latency"):
            await asyncio.sleep(float(fault["latency"]))
        if fault.get("hang"):
            await asyncio.sleep(3600)
        if fault.get("outage"):
            return JSONResponse({"error": "service unavailable"}, status_code=503)
        if fault.get("garbage"):
            return Response("<html>gateway error</html>", media_type="text/html")
        if fault.get("refuse"):
            return JSONResponse({"result": int(fault.get("result") or 99),
                                 "error": str(fault["refuse"])})  # fmt: skip
        return JSONResponse(platform.answer(method, params))

    async def calls(request: Request) -> Response:
        return JSONResponse(platform.calls)

    async def faults(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        method = str(body.pop("method", "*"))
        if body:
            platform.faults[method] = body
        else:
            platform.faults.pop(method, None)
        return JSONResponse(platform.faults)

    async def add_environment(request: Request) -> Response:
        body = json.loads(await request.body())
        env = SimEnvironment(str(body["ownerUid"]), str(body["envName"]),
                             str(body.get("displayName") or body["envName"]),
                             int(body.get("status", RUNNING)))  # fmt: skip
        platform.environments[env.name] = env
        return JSONResponse(env.info())

    async def remove_environment(request: Request) -> Response:
        platform.environments.pop(request.path_params["name"], None)
        return JSONResponse({"removed": request.path_params["name"]})

    async def reset(request: Request) -> Response:
        platform.environments.clear()
        platform.faults.clear()
        platform.calls.clear()
        return JSONResponse({"reset": True})

    app = Starlette(routes=[
        Route(API_PREFIX + "{method}", api, methods=["POST"]),
        Route("/_sim/calls", calls),
        Route("/_sim/faults", faults, methods=["POST"]),
        Route("/_sim/environments", add_environment, methods=["POST"]),
        Route("/_sim/environments/{name}", remove_environment, methods=["DELETE"]),
        Route("/_sim/reset", reset, methods=["POST"]),
    ])  # fmt: skip
    app.state.platform = platform
    return app


class EmbeddedServer(uvicorn.Server):
    """The simulator beside another server in one event loop (`collab dev --paas-sim`,
    tests): the other server handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def embedded(token: str, port: int, host: str = "127.0.0.1") -> EmbeddedServer:
    return EmbeddedServer(
        uvicorn.Config(
            create_app(token),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
