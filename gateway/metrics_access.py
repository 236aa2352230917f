"""Who may read the gateway's /metrics (CONTRACT section 5).

Metrics name operations, error rates and queue depths: production serves them only to a
scraper holding METRICS_TOKEN (as a bearer token), and not at all without one (404).
Development keeps them open unless a token is set.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from infra.settings import Settings


def refusal(request: Request, settings: Settings) -> Response | None:
    """None when this request may read /metrics, else the answer that refuses it."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        return PlainTextResponse(
            "metrics need the bearer token (METRICS_TOKEN)\n", status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )  # fmt: skip
    if settings.ENVIRONMENT == "production":
        return PlainTextResponse("Not Found\n", status_code=404)
    return None
