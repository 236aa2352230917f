"""Server-rendered pages a person opens in a browser: the links in the emails (invitation,
password reset, email verification)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gateway.pages.account import AccountPages
from gateway.pages.invitations import InvitationPages
from schema.context import Services

# By path, not by package: an editable install may expose `gateway` as a namespace package.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def page_routes(services: Services) -> list[BaseRoute]:
    """The pages and their stylesheet, to be listed in the app's routes."""
    return [
        *InvitationPages(services).routes(),
        *AccountPages(services).routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
