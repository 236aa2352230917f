"""A real `collab serve` and `collab worker` on private servers, for the operations tests."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.utils import processes
from tests.utils.accounts import PASSWORD, mark_verified_in

SIGN_UP = """mutation($email: String!, $password: String!) {
  signUp(email: $email, password: $password, displayName: "Owner") {
    token account { id } errors { code } } }"""
INVITE = """mutation InviteMember($email: String!) {
  inviteMember(input: { email: $email }) { member { id } errors { code message } } }"""


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def start_gateway(self, name: str = "gateway", **extra_env: str) -> str:
        port = processes.free_port()
        log = (self.logs / f"{name}.log").open("ab")
        proc = processes.start(["serve", "--port", str(port)], {**self.env, **extra_env}, log)
        url = f"http://127.0.0.1:{port}"
        processes.wait_until_up(url, proc, self.logs / f"{name}.log")
        self.procs[name], self.urls[name] = proc, url
        return url

    def start_worker(self, name: str = "worker", **extra_env: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        proc = processes.start(["worker"], {**self.env, **extra_env}, log)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def json_lines(self, name: str) -> list[dict[str, Any]]:
        lines = []
        for line in self.log(name).splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def stop(self) -> None:
        processes.stop(list(self.procs.values()))


def stack_env(database_url: str, redis_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"collab-test:{uuid.uuid4().hex[:12]}", "ENVIRONMENT": "development",
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "PUBLIC_URL": "http://collab.test",
        "LOG_FORMAT": "json", "RECONNECT_BACKOFF_MAX_SECONDS": "1", **extra,
    }  # fmt: skip


async def post(url: str, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{url}/graphql", json={"query": query, "variables": variables},
                                 headers=headers)  # fmt: skip


async def sign_up(url: str, database_url: str) -> str:
    """A signed-up owner's token; its email counts as verified (owners verify before they
    may invite), written to the gateway's database as the verification page would."""
    email = f"owner-{uuid.uuid4().hex[:8]}@collab.example"
    body = (await post(url, SIGN_UP, email=email, password=PASSWORD)).json()
    assert not body.get("errors"), body
    await mark_verified_in(database_url, body["data"]["signUp"]["account"]["id"])
    return str(body["data"]["signUp"]["token"])


async def invite(url: str, token: str, email: str) -> httpx.Response:
    return await post(url, INVITE, token, email=email)


def invited_ok(response: httpx.Response) -> bool:
    body = response.json()
    return (
        response.status_code == 200
        and not body.get("errors")
        and body["data"]["inviteMember"]["errors"] == []
    )


def wait(seconds: float) -> None:
    time.sleep(seconds)
