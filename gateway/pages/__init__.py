"""Server-rendered pages a person opens in a browser: the links in the emails (invitation,
password reset, email verification), and the invitation's hand-off to the dashboard."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gateway.pages.account import AccountPages
from gateway.pages.handoff import SessionHandoff
from gateway.pages.invitations import InvitationPages
from schema.context import Services

# By path, not by package: an editable install may expose `gateway` as a namespace package.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def page_routes(services: Services, redis: Redis) -> list[BaseRoute]:
    """The pages, the dashboard's session hand-off and the stylesheet, for the app's routes."""
    handoff = SessionHandoff(services, redis)
    return [
        *InvitationPages(services, handoff).routes(),
        *handoff.routes(),
        *AccountPages(services).routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
