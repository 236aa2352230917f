"""The typed per-request context: who is calling, their loaders, and the app's services."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import strawberry

from domain import versions
from domain.environments import committing_denials
from domain.errors import DomainError, ErrorCode
from domain.unit_of_work import AfterCommit
from infra.retries import retry_when_locked
from models import Account
from schema.errors import BAD_SESSION, LOG_IN_FIRST, unauthenticated
from schema.loaders import CallerAccess, Loaders

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from domain.rate_limit import RateLimiter
    from infra.settings import Settings


T = TypeVar("T")


class LiveDelivery(Protocol):
    """One live event, shared by every listener of this process (gateway.events.Delivery)."""

    data: dict[str, Any]

    async def once(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T: ...


class EventBroker(Protocol):
    """Live events across gateway replicas (Redis pub/sub in production)."""

    def listen(self, account_id: str) -> AsyncIterator[LiveDelivery]: ...


@dataclass
class Services:
    settings: Settings
    after_commit: AfterCommit
    limiter: RateLimiter
    events: EventBroker | None = None


@dataclass
class Context:
    services: Services
    account: Account | None = None
    session_token: str | None = None
    # A bearer token came with the request but no live session has it.
    token_rejected: bool = False
    is_platform: bool = False
    client_address: str = "unknown"
    request: Any = None
    connection_params: dict[str, Any] | None = None
    # Quoted by the client from a masked error; the log holds the stack under it.
    request_id: str = field(default_factory=lambda: secrets.token_hex(8))
    loaders: Loaders = field(default_factory=Loaders)
    access: CallerAccess = field(init=False)

    def __post_init__(self) -> None:
        self.access = CallerAccess(self.account, self.loaders)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def refresh(self) -> None:
        """Drop what this request cached: a mutation changed it."""
        self.loaders = Loaders()
        self.access = CallerAccess(self.account, self.loaders)

    async def commit(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run a mutation's change in one unit of work (jobs and live events released after
        commit, refused attempts still audited), then forget what the request had cached.
        A change that met another process's SQLite write lock is rolled back and run again
        (infra.retries); a change that keeps meeting it answers SERVICE_UNAVAILABLE. Each
        attempt touches the caller's counters, so a retried transaction touches them again."""
        caller = self.account

        async def touched() -> T:
            if caller is not None:  # an owner's own change is rarely audited: say so here
                versions.touch_owner(caller.id)
                versions.touch_account(caller.id)
            return await work()

        result = await retry_when_locked(
            lambda: committing_denials(self.services.after_commit, touched)
        )
        self.refresh()
        return result

    def caller(self) -> Account:
        """For queries: no login is a top-level UNAUTHENTICATED error."""
        if self.account is None:
            raise unauthenticated(self.token_rejected)
        return self.account

    def caller_for_mutation(self) -> Account:
        """For mutations: no login is a typed UNAUTHENTICATED error in the payload."""
        if self.account is None:
            raise DomainError(ErrorCode.UNAUTHENTICATED, self.unauthenticated_message)
        return self.account

    @property
    def unauthenticated_message(self) -> str:
        return BAD_SESSION if self.token_rejected else LOG_IN_FIRST

    def require_platform(self) -> None:
        if not self.is_platform:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "A valid X-Platform-Token is required")


Info = strawberry.Info[Context, None]
