"""The invitation page's one-time hand-off of a session to the dashboard (issue 19).

A session token in a link would log in whoever opens the link, so a crafted one could log
a victim into the attacker's account (login CSRF). Instead the accepted page links to
`/app/...#handoff=<code>` and sets a nonce cookie (HttpOnly, SameSite=Strict, only sent to
`POST /app/handoff`) in the browser that completed the invitation. The dashboard posts the
code; the session is opened only for that browser, once, within `TTL_SECONDS`. Redis holds
the code's hash with the account and the nonce's hash, never a bearer token.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from domain import accounts, rate_limit
from domain.errors import DomainError, ErrorCode
from domain.tokens import token_hash
from models import Account
from schema.context import Services

log = logging.getLogger(__name__)

COOKIE = "collab_handoff"
PATH = "/app/handoff"
TTL_SECONDS = 60
MAX_CODE_LENGTH = 200  # issued codes are 43 characters

SPENT = (
    "This sign-in link has already been used or has expired. Log in with your email and password."
)
OTHER_BROWSER = (
    "This sign-in link belongs to another browser (the one that accepted the invitation). "
    "Log in with your email and password."
)
NOT_JSON = 'Send the code as JSON: {"code": "..."}'
TOO_MANY = "Too many sign-in link attempts"

_STATUS = {
    ErrorCode.INVALID_TOKEN: 410,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.VALIDATION: 400,
    ErrorCode.RATE_LIMITED: 429,
}


def _digest(value: str) -> str:
    return token_hash(value)  # the code and the nonce are secrets like any token


def _refused_presentation(outcome: BaseException | None) -> bool:
    """A code that named nothing, or came without its browser's cookie: counts as a guess."""
    return isinstance(outcome, DomainError) and outcome.code in (
        ErrorCode.INVALID_TOKEN, ErrorCode.FORBIDDEN
    )  # fmt: skip


@dataclass(frozen=True)
class Handoff:
    """A code for the dashboard link and the nonce its browser must hold."""

    code: str
    nonce: str


class SessionHandoff:
    def __init__(self, services: Services, redis: Redis) -> None:
        self.services = services
        self.redis = redis
        settings = services.settings
        self.prefix = f"{settings.REDIS_KEY_PREFIX}:handoff:"
        self.secure = settings.public_url.startswith("https://")

    def routes(self) -> list[BaseRoute]:
        return [Route(PATH, self.redeem, methods=["POST"])]

    # -- the invitation page's side ---------------------------------------------------

    async def issue(self, account: Account) -> Handoff | None:
        """A fresh code for `account`; None while Redis is away (the person logs in)."""
        handoff = Handoff(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        record = json.dumps({"account": str(account.id), "nonce": _digest(handoff.nonce)})
        try:
            await self.redis.set(self.prefix + _digest(handoff.code), record, ex=TTL_SECONDS)
        except (RedisError, OSError) as exc:
            log.warning("session hand-off not issued (Redis unavailable): %s", type(exc).__name__)
            return None
        return handoff

    def bind(self, response: Response, handoff: Handoff) -> None:
        """The nonce cookie: sent only by this browser, only to the hand-off endpoint."""
        response.set_cookie(
            COOKIE, handoff.nonce, max_age=TTL_SECONDS, path=PATH, secure=self.secure,
            httponly=True, samesite="strict",
        )  # fmt: skip

    # -- the dashboard's side ---------------------------------------------------------

    async def redeem(self, request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        checks = [(rate_limit.TOKEN_GUESSES_PER_ADDRESS, address)]
        try:
            async with rate_limit.attempt(
                self.services.limiter, checks, TOO_MANY, _refused_presentation
            ):
                token = await self._redeem(request)
        except DomainError as error:
            response = self._error(error)
        else:
            response = JSONResponse({"token": token}, headers={"Cache-Control": "no-store"})
        # Spent either way (the code is deleted on first presentation): drop the nonce too.
        response.delete_cookie(COOKIE, path=PATH, secure=self.secure, httponly=True,
                               samesite="strict")  # fmt: skip
        return response

    async def _redeem(self, request: Request) -> str:
        code = await self._code(request)
        # Read and delete in one transaction: a code works once, even raced (no GETDEL
        # before Redis 6.2).
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.prefix + _digest(code))
            pipe.delete(self.prefix + _digest(code))
            raw, _ = await pipe.execute()
        if raw is None:
            raise DomainError(ErrorCode.INVALID_TOKEN, SPENT, "code")
        record = json.loads(raw)
        nonce = request.cookies.get(COOKIE, "")
        if not nonce or not hmac.compare_digest(_digest(nonce), str(record.get("nonce"))):
            raise DomainError(ErrorCode.FORBIDDEN, OTHER_BROWSER, "code")
        account = await Account.get_or_none(id=record.get("account"))
        if account is None:
            raise DomainError(ErrorCode.INVALID_TOKEN, SPENT, "code")
        return await accounts.open_session(account, self.services.settings.SESSION_TTL_HOURS)

    @staticmethod
    async def _code(request: Request) -> str:
        # JSON only: a cross-site HTML form cannot send it without a CORS preflight.
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise DomainError(ErrorCode.VALIDATION, NOT_JSON, "code")
        try:
            body: Any = json.loads(await request.body())
        except ValueError:
            raise DomainError(ErrorCode.VALIDATION, NOT_JSON, "code") from None
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code:
            raise DomainError(ErrorCode.VALIDATION, NOT_JSON, "code")
        if len(code) > MAX_CODE_LENGTH:
            raise DomainError(ErrorCode.INVALID_TOKEN, SPENT, "code")
        return code

    @staticmethod
    def _error(error: DomainError) -> JSONResponse:
        body = {"errors": [{"message": error.message, "extensions": {"code": error.code.value}}]}
        headers = {"Cache-Control": "no-store"}
        if isinstance(error, rate_limit.RateLimited):
            headers["Retry-After"] = str(error.retry_after)
        return JSONResponse(body, status_code=_STATUS.get(error.code, 400), headers=headers)
