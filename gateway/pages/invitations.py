"""The page behind the emailed invitation link: see who invites you, then accept or reject.

Token checks come first on every request (an unknown or spent token is a 404 page, an
expired one a 410 page), failed token presentations count towards the per-address guess
limit shared with the GraphQL API, and every change runs in a unit of work so its emails
are enqueued only after commit. No DomainError ever reaches the browser as a stack trace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from domain import accounts, rate_limit
from domain import members as lifecycle
from domain.clock import utcnow
from domain.errors import DomainError, ErrorCode
from domain.unit_of_work import unit_of_work
from gateway.pages.csrf import FIELD
from gateway.pages.handoff import SessionHandoff
from gateway.pages.links import Handler, LinkPages, sentence
from gateway.pages.rendering import domain_error_page, render
from models import (
    Account,
    AccountRole,
    EnvironmentStatus,
    Member,
    Share,
    ShareRole,
    ShareTargetType,
)
from schema.context import Services

log = logging.getLogger(__name__)
DELETED = EnvironmentStatus.DELETED

WRONG_PASSWORD = "That password is not correct for {email}. Try again."
TOO_MANY_LOGINS = "Too many failed log-ins for this email. Wait a few minutes and try again."
ACCOUNT_APPEARED = (
    "An account for {email} already exists. Enter its password to accept the invitation."
)


@dataclass(frozen=True)
class SharedItem:
    label: str
    roles: list[str]


@dataclass
class InvitationView:
    """What the page shows about one pending invitation."""

    member: Member
    owner: Account
    has_account: bool
    shared: list[SharedItem] = field(default_factory=list)

    @property
    def owner_name(self) -> str:
        return self.owner.display_name or self.owner.email

    @property
    def expires_at(self) -> str:
        value = self.member.invitation_expires_at
        if value is None:
            return ""
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.strftime("%d %B %Y, %H:%M UTC").lstrip("0")

    @property
    def is_admin(self) -> bool:
        return self.member.account_role is AccountRole.ADMIN


async def _shared_items(member: Member) -> list[SharedItem]:
    shares = await Share.filter(member_id=member.id).prefetch_related("environment", "group")
    roles: dict[object, list[str]] = {}
    for link in await ShareRole.filter(share_id__in=[s.id for s in shares]).select_related("role"):
        roles.setdefault(link.share_id, []).append(link.role.name)
    items: list[SharedItem] = []
    now = utcnow()
    for share in shares:
        if share.expires_at is not None and share.expires_at <= now:
            continue  # an expired share grants nothing: do not advertise it
        if share.target_type is ShareTargetType.ROOT:
            label = "All environments"
        elif share.target_type is ShareTargetType.GROUP and share.group is not None:
            label = f"Group “{share.group.name}”"
        elif share.environment is not None and share.environment.status is not DELETED:
            env = share.environment
            label = f"Environment “{env.display_name or env.name}”"
        else:
            continue
        items.append(SharedItem(label, sorted(roles.get(share.id, []))))
    return sorted(items, key=lambda item: (item.label != "All environments", item.label))


async def load_view(member: Member) -> InvitationView:
    owner = await Account.get(id=member.owner_id)
    has_account = await Account.exists(email=member.email)
    return InvitationView(member, owner, has_account, await _shared_items(member))


class InvitationPages(LinkPages):
    family = "invitation"
    guesses = rate_limit.TOKEN_GUESSES_PER_ADDRESS
    too_many = "Too many invitation attempts"

    def __init__(self, services: Services, handoff: SessionHandoff) -> None:
        super().__init__(services, cookie_path="/invitations")
        self.handoff = handoff
        self.dashboard_url = f"{services.settings.public_url}/app/shared-with-me"

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/invitations/{token}", self.show, methods=["GET"]),
            Route("/invitations/{token}/accept", self.accept, methods=["POST"]),
            Route("/invitations/{token}/reject", self.reject, methods=["POST"]),
        ]

    # -- request plumbing -------------------------------------------------------------

    @staticmethod
    def _refused(error: DomainError) -> Response:
        retry = error.retry_after if isinstance(error, rate_limit.RateLimited) else None
        return domain_error_page(error, retry_after=retry)

    async def _guarded(self, request: Request, handler: Handler) -> Response:
        return await self.guarded(request, handler, self._refused)

    async def _form(self, request: Request, action: str, token: str) -> FormData | Response:
        return await self.form(
            request, action, token, what="the invitation",
            retry_link=f"/invitations/{token}", retry_label="Open the invitation again",
        )  # fmt: skip

    def _invitation_page(
        self, request: Request, token: str, view: InvitationView, *, status: int = 200,
        error: str | None = None, error_field: str | None = None, display_name: str = "",
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:  # fmt: skip
        nonce, is_new = self.csrf.nonce(request)
        context: dict[str, Any] = {
            "view": view,
            "owner_name": view.owner_name,
            "email": view.member.email,
            "accept_url": f"/invitations/{token}/accept",
            "reject_url": f"/invitations/{token}/reject",
            "accept_csrf": self.csrf.sign(nonce, self.purpose("accept", token)),
            "reject_csrf": self.csrf.sign(nonce, self.purpose("reject", token)),
            "csrf_field": FIELD,
            "error": error,
            "error_field": error_field,
            "display_name": display_name,
        }
        response = render("invitation.html", context, status, headers)
        if is_new:
            self.csrf.set_cookie(response, nonce)
        return response

    # -- routes -----------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        return await self._guarded(request, self._show)

    async def accept(self, request: Request) -> Response:
        return await self._guarded(request, self._accept)

    async def reject(self, request: Request) -> Response:
        return await self._guarded(request, self._reject)

    async def _show(self, request: Request, token: str) -> Response:
        member = await lifecycle.invitation_by_token(token)
        return self._invitation_page(request, token, await load_view(member))

    async def _accept(self, request: Request, token: str) -> Response:
        form = await self._form(request, "accept", token)
        if isinstance(form, Response):
            return form
        member = await lifecycle.invitation_by_token(token)  # 404/410 before anything else
        view = await load_view(member)
        password = form.get("password")
        password = password if isinstance(password, str) else ""
        if view.has_account:
            return await self._log_in_and_accept(request, token, view, password)
        raw_name = form.get("display_name")
        display_name = raw_name if isinstance(raw_name, str) else ""
        try:
            async with unit_of_work(self.services.after_commit):
                account, member = await lifecycle.sign_up_with_invitation(
                    token=token, password=password, display_name=display_name or None,
                    trial_days=self.services.settings.TRIAL_DAYS,
                )  # fmt: skip
        except DomainError as error:
            if error.code is ErrorCode.VALIDATION:
                return self._invitation_page(
                    request, token, view, status=422, error=sentence(error.message),
                    error_field=_form_field(error.field), display_name=display_name,
                )  # fmt: skip
            if error.code is ErrorCode.CONFLICT:  # an account appeared since the page loaded
                view.has_account = True
                return self._invitation_page(
                    request, token, view, status=409,
                    error=ACCOUNT_APPEARED.format(email=view.member.email),
                    error_field="password",
                )  # fmt: skip
            raise
        return await self._accepted(view, account, created=True)

    async def _log_in_and_accept(
        self, request: Request, token: str, view: InvitationView, password: str
    ) -> Response:
        email = view.member.email
        checks = rate_limit.log_in_checks(self.address(request), email)
        try:
            async with rate_limit.attempt(
                self.services.limiter, checks, "Too many failed log-ins", rate_limit.failed_log_in
            ):
                account = await accounts.authenticate(email, password)
        except rate_limit.RateLimited as limited:
            return self._invitation_page(
                request, token, view, status=429, error=TOO_MANY_LOGINS, error_field="password",
                headers={"Retry-After": str(limited.retry_after)},
            )  # fmt: skip
        except DomainError:
            return self._invitation_page(
                request, token, view, status=401,
                error=WRONG_PASSWORD.format(email=email), error_field="password",
            )  # fmt: skip
        async with unit_of_work(self.services.after_commit):
            await lifecycle.accept_invitation(account=account, token=token)
        return await self._accepted(view, account, created=False)

    async def _reject(self, request: Request, token: str) -> Response:
        form = await self._form(request, "reject", token)
        if isinstance(form, Response):
            return form
        member = await lifecycle.invitation_by_token(token)
        view = await load_view(member)
        # The emailed token alone may decline: no password is needed to say no.
        async with unit_of_work(self.services.after_commit):
            await lifecycle.reject_invitation(account=None, token=token)
        return render("rejected.html", {"owner_name": view.owner_name, "email": member.email})

    async def _accepted(
        self, view: InvitationView, account: Account, *, created: bool
    ) -> HTMLResponse:
        # The person just proved who they are (new password or the right one): the
        # dashboard link logs them in, in this browser only, once (gateway.pages.handoff).
        # The code rides in the URL fragment, which browsers send to no server and put in
        # no Referer. Without Redis the link opens the log-in form instead.
        handoff = await self.handoff.issue(account)
        dashboard_url = (
            f"{self.dashboard_url}#handoff={handoff.code}" if handoff else self.dashboard_url
        )
        response = render("accepted.html", {
            "owner_name": view.owner_name, "email": view.member.email, "created": created,
            "dashboard_url": dashboard_url,
        })  # fmt: skip
        if handoff:
            self.handoff.bind(response, handoff)
        return response


def _form_field(domain_field: str | None) -> str:
    return "display_name" if domain_field == "displayName" else "password"
