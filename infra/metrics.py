"""Prometheus metrics, importable by the gateway, the schema and the workers alike.

Counters and histograms live in prometheus-client's default registry; with
`PROMETHEUS_MULTIPROC_DIR` set (several gateway or worker processes on one host) every
process writes its values there and `/metrics` adds them up. Outbox depth and age are
read from the database when `/metrics` is scraped, so they are right whichever process
answers. Call the small functions below rather than the metric objects: names and
labels stay in this one file.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST"]

REQUEST_SECONDS = Histogram(
    "collab_graphql_request_duration_seconds",
    "GraphQL operation latency, by operation name and type.",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter(
    "collab_errors_total",
    "Errors returned to clients by code: top-level GraphQL errors and typed payload errors.",
    ["code", "kind"],
)
JOBS = Counter(
    "collab_jobs_total",
    "Outbox jobs run by the workers, by family and outcome (done, failed, retried).",
    ["family", "outcome"],
)
EMAILS = Counter(
    "collab_emails_total",
    "Emails by outcome: sent (accepted by SMTP), refused (5xx), in_doubt (fate unknown).",
    ["outcome"],
)
SUBSCRIPTIONS = Gauge(
    "collab_open_subscriptions",
    "Live GraphQL subscriptions open on this gateway.",
    multiprocess_mode="livesum",
)
CACHE_HITS = Counter("collab_response_cache_hits", "GraphQL responses served from the cache.")
CACHE_MISSES = Counter(
    "collab_response_cache_misses", "GraphQL responses computed because the cache had none."
)
OUTAGES = Counter(
    "collab_dependency_outages", "Outages of a dependency seen by this process.", ["dependency"]
)

# Operation names come from clients: only names a known client sends become labels, so no
# client can grow the label set (first come, first labelled would also let a flood of
# made-up names push the real ones out). The dashboard's operations (web/src; a test keeps
# this list in step with it), plus METRICS_OPERATIONS for other clients (mobile apps).
DASHBOARD_OPERATIONS = frozenset({
    "AcceptInvitation", "ActivateMember", "AddToGroup", "AuditScreen", "CloneEnvironment",
    "CopyMember", "CreateEnvironment", "CreateGroup", "CreateRole", "DeleteEnvironment",
    "DeleteGroup", "DeleteRole", "EnvironmentState", "EnvironmentsScreen", "ExplainAccess",
    "InviteMember", "LeaveCollaboration", "LogIn", "LogOut", "Me", "MembersScreen", "MoveGroup",
    "OwnerEnvironmentsChanged", "ReinviteMember", "RejectInvitation", "RemoveFromGroup", "RemoveMember", "RenameGroup",
    "ResendInvitation", "RestartNodes", "RolesScreen", "SharedWithMe", "SharedWithMeChanged",
    "SignUp", "StartEnvironment", "StopEnvironment", "SuspendMember", "UpdateMember",
    "UpdateRole",
})  # fmt: skip
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@functools.lru_cache(maxsize=8)
def known_operations(extra: str = "") -> frozenset[str]:
    """The dashboard's names plus `extra` (comma-separated: the METRICS_OPERATIONS setting)."""
    names = {n.strip() for n in extra.split(",")}
    return DASHBOARD_OPERATIONS | {n for n in names if _NAME.match(n)}


def operation_label(name: str | None, known: frozenset[str] = DASHBOARD_OPERATIONS) -> str:
    if not name:
        return "anonymous"
    return name if name in known else "other"


def observe_request(
    operation: str | None, kind: str, seconds: float,
    known: frozenset[str] = DASHBOARD_OPERATIONS,
) -> None:  # fmt: skip
    REQUEST_SECONDS.labels(operation_label(operation, known), kind).observe(seconds)


def error(code: str, kind: str = "graphql") -> None:
    """kind: "graphql" (a top-level error) or "payload" (a typed UserError)."""
    ERRORS.labels(code, kind).inc()


def job_finished(family: str, outcome: str) -> None:
    JOBS.labels(family, outcome).inc()


def email_sent(count: int = 1) -> None:
    EMAILS.labels("sent").inc(count)


def email_refused(count: int = 1) -> None:
    EMAILS.labels("refused").inc(count)


def email_in_doubt(count: int = 1) -> None:
    """For the worker: an email was claimed but its hand-off never confirmed."""
    EMAILS.labels("in_doubt").inc(count)


def subscription_opened() -> None:
    SUBSCRIPTIONS.inc()


def subscription_closed() -> None:
    SUBSCRIPTIONS.dec()


def cache_hit() -> None:
    CACHE_HITS.inc()


def cache_miss() -> None:
    CACHE_MISSES.inc()


def outage_started(dependency: str) -> None:
    OUTAGES.labels(dependency).inc()


class _Snapshot(Collector):
    """Values read at scrape time (outbox depth, oldest pending row)."""

    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self.families


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


class _WithExtra(Collector):
    """This process's metrics plus families computed at each scrape."""

    def __init__(self, base: Collector, extra: Callable[[], Iterable[GaugeMetricFamily]]):
        self.base, self.extra = base, extra

    def collect(self) -> Iterable[Metric]:
        yield from self.base.collect()
        yield from self.extra()


def serve_http(
    port: int, host: str = "0.0.0.0",
    extra: Callable[[], Iterable[GaugeMetricFamily]] | None = None,
) -> Callable[[], None]:  # fmt: skip
    """/metrics on a port of its own, in a thread (the worker's WORKER_METRICS_PORT, the
    gateway's METRICS_PORT); answers the function that stops it."""
    from prometheus_client import start_http_server

    source = _registry() if extra is None else _WithExtra(_registry(), extra)
    server, _ = start_http_server(port, addr=host, registry=source)

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


def render(extra: Iterable[GaugeMetricFamily] = ()) -> bytes:
    """The text exposition of this process (or of all, in multiprocess mode) plus `extra`."""
    body = generate_latest(_registry())
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(extra))
    return body + generate_latest(snapshot)
