"""Structured logs: one JSON object per line, each carrying the request id it belongs to.

The request id is set by the gateway for each HTTP request or websocket (taken from a
sane incoming `X-Request-Id`, or made up), written into the payload of every outbox job
the request causes, and set again by the worker while it runs that job; so one id
follows a change from the mutation to its emails. Standard-library logging throughout:
uvicorn, arq and Tortoise log through the same formatter.

No line carries a live link token: the segment after each path of `TOKEN_PATHS` (the
emailed invitation, password-reset and verification links) is written `<token>`,
whichever logger wrote it (a token read from a log reset a password, issue 19), and
uvicorn's access log drops the values of query strings (GraphQL over GET may carry one).
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


# Paths whose next segment is a secret: the links emailed by the service. A new kind of
# emailed link adds its path here (tests/security/test_log_redaction.py checks the routes).
TOKEN_PATHS = ("/invitations/", "/account/reset-password/", "/account/verify-email/")
_TOKEN_IN_PATH = re.compile(
    "(" + "|".join(re.escape(p) for p in TOKEN_PATHS) + r")[^/\s?#\"'<>\\]+"
)
REDACTED = "<token>"


def redact(text: str) -> str:
    """`text` with the token of every emailed link replaced by `<token>`."""
    return _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text) if "/" in text else text


def redact_request_path(path: str) -> str:
    """A request target as a log may show it: link tokens out, query-string values out
    (`/graphql?query=...&variables=...` becomes `/graphql?query=-&variables=-`)."""
    path, mark, query = path.partition("?")
    if not mark:
        return redact(path)
    names = [part.partition("=")[0] for part in query.split("&") if part]
    return redact(path) + "?" + "&".join(f"{redact(name)[:40]}=-" for name in names)


class RedactAccessLog(logging.Filter):
    """For uvicorn's access log, whose arguments are (client, method, path, version,
    status): the path redacted in place, so that any formatter (uvicorn's own when it
    runs with its default log config) prints it without the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_request_path(args[2]), *args[3:])
        return True


class RedactSecrets(logging.Filter):
    """For any other logger whose lines another formatter may print (uvicorn's errors):
    the message and the traceback redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_redaction() -> None:
    """On uvicorn's own loggers, whoever configured the handlers."""
    filters: list[tuple[str, type[logging.Filter]]] = [
        ("uvicorn.access", RedactAccessLog),
        ("uvicorn.error", RedactSecrets),
    ]
    for name, kind in filters:
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


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
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = _request_id.get()
        record.rid = f" [{rid}]" if rid else ""
        return redact(super().format(record))


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
    install_redaction()
    # Tortoise logs every SQL statement at DEBUG; keep it at INFO unless asked for.
    logging.getLogger("tortoise").setLevel(max(logging.INFO, root.level))
    # asyncpg logs a traceback each time it fails to refill its pool during an outage;
    # infra.outages already says when the outage starts and ends.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
