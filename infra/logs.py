"""Structured logs: one JSON object per line, each carrying the request id it belongs to.

The request id is set by the gateway for each HTTP request or websocket (taken from a
sane incoming `X-Request-Id`, or made up), written into the payload of every outbox job
the request causes, and set again by the worker while it runs that job; so one id
follows a change from the mutation to its emails. Standard-library logging throughout:
uvicorn, arq and Tortoise log through the same formatter.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")

# Attributes every LogRecord has; anything else was passed in `extra=` and is kept
# (but uvicorn's terminal-coloured copy of its message).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id(incoming: str | None = None) -> str:
    """The caller's id when it is a sane token (a proxy's), otherwise a fresh one."""
    if incoming and _ACCEPTABLE.match(incoming):
        return incoming
    return os.urandom(16).hex()  # a uuid4's worth of randomness, a quarter of its cost


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


@contextlib.contextmanager
def request_id_bound(value: str | None) -> Iterator[None]:
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id", ...extra, "exc"}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = _request_id.get()
        record.rid = f" [{rid}]" if rid else ""
        return super().format(record)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (ours, uvicorn's, arq's) to stderr through one formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "arq.worker"):
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True
    # Tortoise logs every SQL statement at DEBUG; keep it at INFO unless asked for.
    logging.getLogger("tortoise").setLevel(max(logging.INFO, root.level))
    # asyncpg logs a traceback each time it fails to refill its pool during an outage;
    # infra.outages already says when the outage starts and ends.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
