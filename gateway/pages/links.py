"""What every page behind an emailed link shares (the invitation, reset and verify pages).

The token travels in the path, so each request is rate-limited per address before the
token is looked at; forms carry a CSRF signature bound to one action on one link; a
DomainError becomes the family's own readable page and anything else a generic 500 page,
never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from domain import rate_limit
from domain.errors import DomainError, ErrorCode
from domain.tokens import token_hash
from gateway.pages.csrf import CsrfGuard
from gateway.pages.rendering import error_page, signed_form
from schema.context import Services

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 200  # issued tokens are 43 characters; anything far longer is a guess

Handler = Callable[[Request, str], Awaitable[Response]]


def sentence(message: str) -> str:
    return message if message.endswith((".", "!", "?")) else f"{message}."


class LinkPages:
    """Base of a family of link pages; `family` scopes signatures, the cookie and logs."""

    family: str
    guesses: rate_limit.Limit  # failed token presentations allowed per address
    too_many: str  # the rate limit's message

    def __init__(self, services: Services, *, cookie_path: str) -> None:
        self.services = services
        settings = services.settings
        self.csrf = CsrfGuard(
            settings.SECRET_KEY, secure=settings.public_url.startswith("https://"),
            path=cookie_path,
        )  # fmt: skip

    def purpose(self, action: str, token: str) -> str:
        """A form's signature is good for one action on one link only."""
        return f"{self.family}-{action}:{token_hash(token)}"

    @staticmethod
    def address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def guarded(
        self, request: Request, handler: Handler, refused: Callable[[DomainError], Response]
    ) -> Response:
        """Rate limit, then run `handler`; `refused` renders a DomainError (bad or spent
        token, rate limit, invalid state) as the family's page."""
        token: str = request.path_params["token"]
        checks = [(self.guesses, self.address(request))]
        try:
            async with rate_limit.attempt(
                self.services.limiter, checks, self.too_many, rate_limit.token_refused
            ):
                if not token or len(token) > MAX_TOKEN_LENGTH:
                    raise DomainError(ErrorCode.INVALID_TOKEN, "This link is not valid", "token")
                return await handler(request, token)
        except DomainError as error:
            return refused(error)
        except Exception:
            log.exception("%s page failed", self.family)
            return error_page(
                500, "Something went wrong on our side",
                "Nothing was changed. Please try again in a moment.",
            )  # fmt: skip

    async def form(
        self, request: Request, action: str, token: str, *, what: str, retry_link: str,
        retry_label: str,
    ) -> FormData | Response:  # fmt: skip
        """The posted form, or the 403/400 page when it is not one of ours."""
        return await signed_form(
            request, self.csrf, self.purpose(action, token), what=what,
            retry_link=retry_link, retry_label=retry_label,
        )  # fmt: skip
