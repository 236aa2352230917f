"""Version counters for cached reads: what a committed change touched, what a read used.

A cached answer is valid while the counters it was computed under are unchanged and no
time-based end it relied on has passed. Writers say which counters their change touches
(`touch_*`, recorded on the unit of work and bumped after commit, beside the live events);
readers say which time-based ends they relied on (`valid_until`) or that their answer must
not be kept at all (`not_cacheable`). Both sides name the same keys here:

- `o:<owner id>`   everything under one owner: members, shares, roles, groups, placements,
                   environments and their status, its audit log;
- `a:<account id>` one account's own record (kind, trial) and its memberships;
- `e:<email>`      invitations addressed to an email before any account holds them;
- `s:<account id>` the account's bearer sessions: bumped when any of them ends, so no
                   gateway accepts a session it remembered in Redis (gateway.response_cache)
                   once the change that ended it has committed.

The module only records; the gateway's response cache and the after-commit dispatch read
and bump the counters in Redis.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain import unit_of_work


def owner_key(owner_id: uuid.UUID | str) -> str:
    return f"o:{owner_id}"


def account_key(account_id: uuid.UUID | str) -> str:
    return f"a:{account_id}"


def email_key(email: str) -> str:
    return f"e:{email.lower()}"


def sessions_key(account_id: uuid.UUID | str) -> str:
    return f"s:{account_id}"


def _touch(keys: Iterable[str]) -> None:
    uow = unit_of_work.current()
    if uow is not None:
        uow.versions.update(keys)


def touch_owner(*owner_ids: uuid.UUID | str | None) -> None:
    _touch(owner_key(o) for o in owner_ids if o)


def touch_account(*account_ids: uuid.UUID | str | None) -> None:
    _touch(account_key(a) for a in account_ids if a)


def touch_email(*emails: str | None) -> None:
    _touch(email_key(e) for e in emails if e)


def touch_sessions(account_id: uuid.UUID | str) -> None:
    """A session of this account ends. Unlike the other counters this one guards a door,
    so it refuses to be recorded outside a unit of work (where it would bump nothing)."""
    if unit_of_work.current() is None:
        raise RuntimeError("sessions end inside a unit of work (its commit drops them in Redis)")
    _touch([sessions_key(account_id)])


# -- the read side ---------------------------------------------------------------------


@dataclass
class ReadScope:
    """What one read relied on besides the counters."""

    now: datetime
    deadline: datetime | None = None
    cacheable: bool = True
    reasons: list[str] = field(default_factory=list)


_scope: contextvars.ContextVar[ReadScope | None] = contextvars.ContextVar(
    "read_scope", default=None
)


def begin_read(now: datetime) -> ReadScope:
    """Start recording for the current request (its tasks inherit the scope)."""
    scope = ReadScope(now)
    _scope.set(scope)
    return scope


def current_read() -> ReadScope | None:
    return _scope.get()


def valid_until(moment: datetime | None) -> None:
    """A decision taken now would change at `moment` (a share's or trial's end, an
    invitation's expiry): an answer built on it must not be served from then on."""
    scope = _scope.get()
    if scope is None or moment is None or moment <= scope.now:
        return
    if scope.deadline is None or moment < scope.deadline:
        scope.deadline = moment


def not_cacheable(reason: str) -> None:
    """This answer depends on something the counters do not track, or has side effects."""
    scope = _scope.get()
    if scope is not None:
        scope.cacheable = False
        scope.reasons.append(reason)
