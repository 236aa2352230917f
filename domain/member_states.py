"""The member state machine of CONTRACT.md section 1, as data.

Every status change goes through `transition`, which refuses anything not in the table
with INVALID_STATE before touching the record.
"""

from __future__ import annotations

from enum import Enum

from domain.clock import utcnow
from domain.errors import invalid_state
from models import Member, MemberStatus

S = MemberStatus


class Event(str, Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    EXPIRE = "expire"
    SUSPEND = "suspend"
    ACTIVATE = "activate"
    TRIAL_END = "trial_end"
    TRIAL_RESTORE = "trial_restore"
    REMOVE = "remove"
    LEAVE = "leave"
    REINVITE = "reinvite"
    RESEND = "resend"


OPEN: frozenset[MemberStatus] = frozenset({S.PENDING, S.ACTIVE, S.SUSPENDED, S.TRIAL_EXPIRED})
ENDED: frozenset[MemberStatus] = frozenset({S.REJECTED, S.EXPIRED, S.REMOVED, S.LEFT})

# event -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[Event, tuple[frozenset[MemberStatus], MemberStatus]] = {
    Event.ACCEPT: (frozenset({S.PENDING}), S.ACTIVE),
    Event.REJECT: (frozenset({S.PENDING}), S.REJECTED),
    Event.EXPIRE: (frozenset({S.PENDING}), S.EXPIRED),
    Event.SUSPEND: (frozenset({S.ACTIVE}), S.SUSPENDED),
    Event.ACTIVATE: (frozenset({S.SUSPENDED}), S.ACTIVE),
    Event.TRIAL_END: (frozenset({S.ACTIVE}), S.TRIAL_EXPIRED),
    Event.TRIAL_RESTORE: (frozenset({S.TRIAL_EXPIRED}), S.ACTIVE),
    Event.REMOVE: (frozenset(MemberStatus) - {S.REMOVED}, S.REMOVED),
    Event.LEAVE: (frozenset({S.ACTIVE, S.SUSPENDED, S.TRIAL_EXPIRED}), S.LEFT),
    Event.REINVITE: (frozenset({S.REMOVED, S.LEFT, S.REJECTED, S.EXPIRED}), S.PENDING),
    Event.RESEND: (frozenset({S.PENDING}), S.PENDING),
}


def allowed(event: Event, status: MemberStatus) -> bool:
    return status in TRANSITIONS[event][0]


def open_slot(member: Member, status: MemberStatus) -> str:
    return member.email if status in OPEN else str(member.id)


def transition(member: Member, event: Event) -> list[str]:
    """Applies the event in memory; returns the fields to save. Raises INVALID_STATE."""
    sources, target = TRANSITIONS[event]
    if member.status not in sources:
        raise invalid_state(f"Cannot {event.value} a member whose status is {member.status.value}")
    member.status = target
    member.open_slot = open_slot(member, target)
    changed = ["status", "open_slot", "updated_at"]
    if event is Event.ACCEPT:
        member.accepted_at = utcnow()
        changed.append("accepted_at")
    return changed
