"""One id per request, quoted in masked errors and kept in the log beside the stack."""

from __future__ import annotations

import re
import secrets
from typing import Any

_SAFE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_for(scope: Any) -> str:
    """The id of this request: a well-formed `X-Request-Id` from the proxy, else a new one;
    remembered in the ASGI scope so every layer of the request quotes the same id."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                      if k == b"x-request-id"), "")  # fmt: skip
        state["request_id"] = given if _SAFE.fullmatch(given) else secrets.token_hex(8)
    return str(state["request_id"])
