"""The platform's REST API (CONTRACT section 6), over one pooled httpx client.

Every call is a form-encoded POST to `<PAAS_URL>/1.0/environment/control/rest/<method>`
carrying `appid=cluster` and `session=<PAAS_TOKEN>`. The answer is sorted into exactly two
kinds of trouble, because they are handled in opposite ways:

- `PlatformOutage`: no usable answer (refused connection, time-out, HTTP status other
  than 200, a body that is not the JSON of section 6). The platform may or may not have
  acted; retrying may help.
- `PlatformRefusal`: the platform answered `result != 0`. It decided; retrying would only
  repeat a call it already answered.

The circuit breaker lives here too: after `threshold` outages in a row it refuses to call
for `cool_off` seconds (`BreakerOpen`, an outage that made no call), then lets one call
through to probe. Its state and every call's outcome are Prometheus metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter, Gauge, Histogram

API_PREFIX = "/1.0/environment/control/rest/"
APPID = "cluster"
NO_SUCH_ENVIRONMENT = 11

# Platform status codes (section 6): 1 running, 2 stopped, 4 sleeping; others: busy.
RUNNING_CODE = 1
STOPPED_CODES = frozenset({2, 4})

CALLS = Counter(
    "collab_platform_calls_total",
    "Calls to the platform API by method and outcome (ok, refused, outage, breaker_open).",
    ["method", "outcome"],
)
CALL_SECONDS = Histogram(
    "collab_platform_call_duration_seconds",
    "Platform API call latency by method (answered calls and outages alike).",
    ["method"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BREAKER_OPEN = Gauge(
    "collab_platform_breaker_open",
    "1 while this process's circuit breaker stops calls to the platform, else 0.",
    multiprocess_mode="max",
)


class PlatformError(Exception):
    """Something the platform call did not do."""


class PlatformOutage(PlatformError):
    """No usable answer: the platform may be down, slow or broken. Retryable."""


class BreakerOpen(PlatformOutage):
    """Not called at all: the breaker is open after repeated outages."""


class PlatformRefusal(PlatformError):
    """The platform answered and said no (`result != 0`); never retried."""

    def __init__(self, result: int, error: str) -> None:
        super().__init__(error or f"refused (result {result})")
        self.result = result
        self.error = error or f"refused (result {result})"


@dataclass(frozen=True, slots=True)
class PlatformEnvironment:
    """One entry of `getenvs`."""

    name: str
    display_name: str
    status: int

    @property
    def running(self) -> bool:
        return self.status == RUNNING_CODE

    @property
    def stopped(self) -> bool:
        return self.status in STOPPED_CODES


class CircuitBreaker:
    """Closed → open after `threshold` outages in a row → half-open after `cool_off`
    seconds (one probe call) → closed on an answer, open again on an outage."""

    def __init__(
        self, threshold: int = 5, cool_off: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.threshold = threshold
        self.cool_off = cool_off
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.cool_off:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open, only one probe at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._probing:
            self._probing = True
            return True
        return False

    def answered(self) -> None:
        """The platform answered (a refusal counts: it is up)."""
        self.failures = 0
        self.opened_at = None
        self._probing = False
        BREAKER_OPEN.set(0)

    def outage(self) -> None:
        self.failures += 1
        self._probing = False
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()
            BREAKER_OPEN.set(1)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError:
        raise PlatformOutage("the platform's answer is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("result"), int):
        raise PlatformOutage("the platform's answer has no result code")
    return answer


class PaasClient:
    """Section 6, method by method. One instance per process: it pools connections."""

    def __init__(
        self, base_url: str, token: str, timeout: float = 10.0, *,
        breaker: CircuitBreaker | None = None, transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self._http = httpx.AsyncClient(
            base_url=self.base_url + API_PREFIX,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, wait: float | None = None, **params: str) -> dict[str, Any]:
        """One POST; the answer's JSON on `result == 0`. Raises `PlatformOutage` (incl.
        `BreakerOpen`) or `PlatformRefusal`. `wait`: this call's time-out, when shorter."""
        if not self.breaker.allow():
            CALLS.labels(method, "breaker_open").inc()
            raise BreakerOpen("the platform is unavailable (circuit breaker open)")
        form = {"appid": APPID, "session": self.token, **params}
        started = time.monotonic()
        try:
            response = await self._http.post(
                method, data=form,
                timeout=httpx.Timeout(wait) if wait is not None else httpx.USE_CLIENT_DEFAULT,
            )  # fmt: skip
            if response.status_code != 200:
                raise PlatformOutage(f"the platform answered HTTP {response.status_code}")
            answer = _parse(response.content)
        except httpx.TimeoutException:
            self._outage(method, started)
            raise PlatformOutage("no answer from the platform in time") from None
        except httpx.HTTPError as exc:
            self._outage(method, started)
            raise PlatformOutage(f"the platform is unreachable ({type(exc).__name__})") from None
        except PlatformOutage:
            self._outage(method, started)
            raise
        CALL_SECONDS.labels(method).observe(time.monotonic() - started)
        self.breaker.answered()
        if answer["result"] != 0:
            CALLS.labels(method, "refused").inc()
            raise PlatformRefusal(answer["result"], str(answer.get("error") or ""))
        CALLS.labels(method, "ok").inc()
        return answer

    def _outage(self, method: str, started: float) -> None:
        CALL_SECONDS.labels(method).observe(time.monotonic() - started)
        CALLS.labels(method, "outage").inc()
        self.breaker.outage()

    async def getenvs(self, owner_uid: str) -> list[PlatformEnvironment]:
        """Every environment of one platform account; an answer of any other shape is an
        outage (a sync must never act on half an inventory)."""
        answer = await self.call("getenvs", ownerUid=owner_uid)
        infos = answer.get("infos")
        if not isinstance(infos, list):
            raise PlatformOutage("getenvs answered without an infos list")
        found = []
        for info in infos:
            env = info.get("env") if isinstance(info, dict) else None
            if not isinstance(env, dict) or not isinstance(env.get("envName"), str):
                raise PlatformOutage("getenvs answered an entry without env.envName")
            status = env.get("status")
            found.append(PlatformEnvironment(
                name=env["envName"], display_name=str(env.get("displayName") or env["envName"]),
                status=status if isinstance(status, int) else 0,
            ))  # fmt: skip
        return found

    async def start(self, env_name: str) -> None:
        await self.call("startenv", envName=env_name)

    async def stop(self, env_name: str) -> None:
        await self.call("stopenv", envName=env_name)

    async def delete(self, env_name: str) -> None:
        await self.call("deleteenv", envName=env_name)

    async def restart_nodes(self, env_name: str) -> None:
        await self.call("restartnodes", envName=env_name)

    async def clone(self, source: str, target: str) -> None:
        await self.call("cloneenv", srcEnvName=source, dstEnvName=target)

    async def create(self, owner_uid: str, env_name: str, display_name: str) -> None:
        await self.call(
            "createenvironment", ownerUid=owner_uid, envName=env_name, displayName=display_name
        )
