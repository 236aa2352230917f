"""The GraphQL endpoint's transport edges, at the ASGI level."""

from __future__ import annotations

import logging
from typing import Any

import pytest


async def test_a_client_gone_before_its_body_arrived_leaves_no_traceback(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Under overload a client may give up while its request waits; the log must not
    fill with "Exception in ASGI application" for it."""
    scope = {
        "type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql",
        "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"40")],
        "server": ("collab.test", 80), "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert "Traceback" not in caplog.text and "Exception in ASGI" not in caplog.text
