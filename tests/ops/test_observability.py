"""Request ids (header, masked errors, jobs and their log lines) and /metrics."""

from __future__ import annotations

import json
import logging
import re
import uuid

from graphql import GraphQLError

from infra import logs
from models import OutboxJob
from schema.errors import HideInternalErrors
from tests.utils.accounts import sign_up
from tests.workers.conftest import settle

INVITE = """mutation Invite($email: String!) {
  inviteMember(input: { email: $email }) { member { id } errors { code } } }"""
ME = "query Me { me { email } }"


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if head.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


async def test_every_answer_carries_a_request_id_a_proxy_may_choose(http):
    made_up = await http.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made_up.headers["x-request-id"])
    chosen = await http.get("/healthz", headers={"X-Request-Id": "edge-4711"})
    assert chosen.headers["x-request-id"] == "edge-4711"
    hostile = await http.get("/healthz", headers={"X-Request-Id": "x<script>" * 20})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


def test_a_masked_internal_error_names_the_request_id():
    error = GraphQLError("boom", original_error=RuntimeError("secret detail"))
    with logs.request_id_bound("req-123"):
        masked = HideInternalErrors().anonymise_error(error)
    assert masked.message == "Internal error (request req-123)"  # the client can quote it
    assert masked.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "secret detail" not in masked.message


def test_a_database_that_is_down_is_service_unavailable_not_internal():
    cause = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    masked = HideInternalErrors().anonymise_error(GraphQLError("x", original_error=cause))
    assert masked.extensions and masked.extensions["code"] == "SERVICE_UNAVAILABLE"


async def test_the_request_id_follows_a_mutation_into_its_job_and_log_lines(
    gql, http, mailbox, start_worker
):
    owner = await sign_up(gql, "Owner")
    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(logs.JsonFormatter().format(record)))

    handler, workers_log = Collect(), logging.getLogger("workers")
    level = workers_log.level
    workers_log.addHandler(handler)
    workers_log.setLevel(logging.INFO)
    try:
        async with start_worker():
            r = await http.post("/graphql", json={"query": INVITE, "variables": {
                "email": f"ivy-{uuid.uuid4().hex[:6]}@collab.example"}},
                headers={"Authorization": f"Bearer {owner.token}",
                         "X-Request-Id": "req-invite-1"})  # fmt: skip
            assert r.json()["data"]["inviteMember"]["errors"] == []
            await mailbox.wait_for(1)
            await settle()
    finally:
        workers_log.removeHandler(handler)
        workers_log.setLevel(level)
    row = await OutboxJob.get(job="invitation_email")
    assert row.payload["request_id"] == "req-invite-1"
    sent = [line for line in lines  # the mailer's "sent 1 email(s), last invite:..."
            if line["message"].startswith("sent ") and "invite:" in line["message"]]  # fmt: skip
    assert sent and all(line["request_id"] == "req-invite-1" for line in sent)


async def test_metrics_show_latency_errors_outbox_and_cache_counters(gql, http):
    owner = await sign_up(gql, "Owner")
    await owner.gql(ME)
    await gql(ME)  # not logged in: a top-level UNAUTHENTICATED
    await owner.gql(INVITE, email="not an email")  # a typed VALIDATION in the payload
    await owner.gql(INVITE, email=f"ok-{uuid.uuid4().hex[:6]}@collab.example")
    before = (await http.get("/metrics")).text
    await owner.gql(ME)  # the invitation touched the owner: computed again, then kept
    await owner.gql(ME)  # served from the response cache
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    count = {"operation": "Me", "type": "query"}
    name = "collab_graphql_request_duration_seconds_count"
    # The cache hit skips execution: the latency histogram counts executed operations.
    assert (metric(after, name, **count) or 0) == (metric(before, name, **count) or 0) + 1
    for cache_counter in ("collab_response_cache_hits_total", "collab_response_cache_misses_total"):
        assert (metric(after, cache_counter) or 0) == (metric(before, cache_counter) or 0) + 1
    assert (metric(after, "collab_errors_total", code="UNAUTHENTICATED", kind="graphql") or 0) >= 1
    assert (metric(after, "collab_errors_total", code="VALIDATION", kind="payload") or 0) >= 1
    assert metric(after, "collab_outbox_depth", status="PENDING", family="invitation_email") == 1
    assert (metric(after, "collab_outbox_oldest_pending_age_seconds") or 0) >= 0
    for counter in ("collab_response_cache_hits_total", "collab_response_cache_misses_total",
                    "collab_emails_total", "collab_jobs_total", "collab_open_subscriptions"):  # fmt: skip
        assert f"# TYPE {counter.removesuffix('_total')}" in after, counter
