"""The pages behind the account emails: choose a new password, confirm the email address.

Both follow the invitation page's rules (gateway/pages/invitations.py): the token is
checked first on every request (unknown or spent: 404, expired: 410), failed
presentations count per address (429 beyond), forms carry a signed CSRF token bound to
an HttpOnly cookie, changes run in a unit of work, and pages send the strict headers of
`rendering.SECURITY_HEADERS` (no Referer, no caching, no framing). Confirming an email is
a button (POST), not the GET of the link: mail scanners that prefetch links must not
spend it.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from domain import account_care, rate_limit
from domain.account_care import RESET_PATH, VERIFY_PATH
from domain.errors import DomainError, ErrorCode
from domain.unit_of_work import unit_of_work
from gateway.pages.csrf import FIELD
from gateway.pages.links import Handler, LinkPages, sentence
from gateway.pages.rendering import error_page, render
from models import AccountTokenPurpose
from schema.context import Services

# purpose -> (what the link was for, where to get a new one)
_LINKS = {
    AccountTokenPurpose.PASSWORD_RESET: (
        "password reset link",
        "Ask for a new one with “Forgot password” (requestPasswordReset).",
    ),
    AccountTokenPurpose.EMAIL_VERIFICATION: (
        "verification link",
        "Log in and ask for a new one (resendVerification).",
    ),
}


class AccountPages(LinkPages):
    family = "account"
    guesses = rate_limit.ACCOUNT_TOKEN_GUESSES_PER_ADDRESS
    too_many = "Too many link attempts"

    def __init__(self, services: Services) -> None:
        super().__init__(services, cookie_path="/account")
        self.dashboard_url = f"{services.settings.public_url}/graphql"

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{RESET_PATH}/{{token}}", self.show_reset, methods=["GET"]),
            Route(f"{RESET_PATH}/{{token}}", self.reset, methods=["POST"]),
            Route(f"{VERIFY_PATH}/{{token}}", self.show_verify, methods=["GET"]),
            Route(f"{VERIFY_PATH}/{{token}}", self.verify, methods=["POST"]),
        ]

    # -- plumbing ---------------------------------------------------------------------

    async def _guarded(
        self, request: Request, purpose: AccountTokenPurpose, handler: Handler
    ) -> Response:
        what, next_step = _LINKS[purpose]

        def refused(error: DomainError) -> Response:
            if isinstance(error, rate_limit.RateLimited):
                return error_page(
                    429, "Too many attempts",
                    "There were too many attempts from your network. Wait a few minutes, "
                    "then open the link from your email again.",
                    headers={"Retry-After": str(error.retry_after)},
                )  # fmt: skip
            if error.code is ErrorCode.INVALID_TOKEN:
                return error_page(404, f"This {what} is not valid",
                                  f"It may have been used already or replaced by a newer one. "
                                  f"{next_step}")  # fmt: skip
            if error.code is ErrorCode.TOKEN_EXPIRED:
                return error_page(410, f"This {what} has expired",
                                  f"Links are valid for a limited time. {next_step}")  # fmt: skip
            return error_page(400, "This did not work", sentence(error.message))

        return await self.guarded(request, handler, refused)

    async def _form(self, request: Request, action: str, token: str) -> FormData | Response:
        return await self.form(
            request, action, token, what="the link from your email",
            retry_link=request.url.path, retry_label="Open the link again",
        )  # fmt: skip

    def _page(
        self, request: Request, template: str, action: str, token: str, email: str, *,
        status: int = 200, error: str | None = None,
    ) -> HTMLResponse:  # fmt: skip
        nonce, is_new = self.csrf.nonce(request)
        response = render(template, {
            "email": email, "action_url": request.url.path, "csrf_field": FIELD,
            "csrf": self.csrf.sign(nonce, self.purpose(action, token)), "error": error,
        }, status)  # fmt: skip
        if is_new:
            self.csrf.set_cookie(response, nonce)
        return response

    # -- password reset ---------------------------------------------------------------

    async def show_reset(self, request: Request) -> Response:
        return await self._guarded(request, AccountTokenPurpose.PASSWORD_RESET, self._show_reset)

    async def reset(self, request: Request) -> Response:
        return await self._guarded(request, AccountTokenPurpose.PASSWORD_RESET, self._reset)

    async def _show_reset(self, request: Request, token: str) -> Response:
        row = await account_care.live_token(token, AccountTokenPurpose.PASSWORD_RESET)
        return self._page(request, "reset_password.html", "reset", token, row.account.email)

    async def _reset(self, request: Request, token: str) -> Response:
        form = await self._form(request, "reset", token)
        if isinstance(form, Response):
            return form
        row = await account_care.live_token(token, AccountTokenPurpose.PASSWORD_RESET)
        password = form.get("password")
        try:
            async with unit_of_work(self.services.after_commit):
                account = await account_care.reset_password(
                    token, password if isinstance(password, str) else ""
                )
        except DomainError as error:
            if error.code is not ErrorCode.VALIDATION:
                raise
            return self._page(request, "reset_password.html", "reset", token,
                              row.account.email, status=422, error=sentence(error.message))  # fmt: skip
        return render("password_reset_done.html",
                      {"email": account.email, "dashboard_url": self.dashboard_url})  # fmt: skip

    # -- email verification -----------------------------------------------------------

    async def show_verify(self, request: Request) -> Response:
        purpose = AccountTokenPurpose.EMAIL_VERIFICATION
        return await self._guarded(request, purpose, self._show_verify)

    async def verify(self, request: Request) -> Response:
        return await self._guarded(request, AccountTokenPurpose.EMAIL_VERIFICATION, self._verify)

    async def _show_verify(self, request: Request, token: str) -> Response:
        row = await account_care.live_token(token, AccountTokenPurpose.EMAIL_VERIFICATION)
        return self._page(request, "verify_email.html", "verify", token, row.account.email)

    async def _verify(self, request: Request, token: str) -> Response:
        form = await self._form(request, "verify", token)
        if isinstance(form, Response):
            return form
        async with unit_of_work(self.services.after_commit):
            account = await account_care.verify_email(token)
        return render("email_verified.html",
                      {"email": account.email, "dashboard_url": self.dashboard_url})  # fmt: skip
