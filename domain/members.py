"""The collaboration lifecycle: invitations, decisions, and the owner's member management.

Each function runs inside the caller's unit of work (domain.unit_of_work), validates
everything before its first write, and moves statuses only through domain.member_states.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from domain import audit, outbox, sharing, versions
from domain.account_care import (
    VERIFY_BEFORE_INVITATIONS,
    is_verified,
    mark_email_verified,
    require_verified,
)
from domain.accounts import clean_display_name, create_account, normalize_email
from domain.clock import utcnow
from domain.errors import DomainError, ErrorCode, conflict, not_found, validation
from domain.jobs import Job
from domain.member_states import OPEN, Event, transition
from domain.previews import AccessEffect
from domain.sharing import ShareRequest
from domain.tokens import token_hash
from models import Account, AccountKind, AccountRole, InvitationToken, Member, MemberStatus

INVALID_TOKEN = "This invitation link is not valid any more"
EXPIRED_TOKEN = "This invitation has expired; ask the owner to send a new one"


async def _issue_token(member: Member, ttl_hours: int) -> str:
    """A fresh single-use token (256 bits); any earlier one for the member dies."""
    now = utcnow()
    await InvitationToken.filter(member_id=member.id, used_at=None, revoked_at=None).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=ttl_hours)
    await InvitationToken.create(  # created_at from our clock: reminders count from it
        id=uuid.uuid4(), member=member, token_hash=token_hash(token), created_at=now,
        expires_at=expires,
    )  # fmt: skip
    member.invitation_expires_at = expires
    return token


async def _retire_tokens(member: Member) -> None:
    await InvitationToken.filter(member_id=member.id, used_at=None, revoked_at=None).update(
        used_at=utcnow()
    )


async def _send_invitation(member: Member, token: str, reason: str) -> None:
    await outbox.add(
        Job.INVITATION_EMAIL,
        {"member_id": str(member.id), "token": token, "reason": reason},
        owner_id=member.owner_id,
    )


async def _log(member: Member, actor_id: uuid.UUID | None, action: str, **detail: object) -> None:
    await audit.record(
        owner_id=member.owner_id, actor_id=actor_id, action=action,
        target_type="Member", target_id=member.id, detail=dict(detail) or None,
    )  # fmt: skip


def _touched(member: Member) -> None:
    """Both sides see a member record: the owner's list, the invitee's invitations."""
    versions.touch_owner(member.owner_id)
    versions.touch_email(member.email)
    versions.touch_account(member.account_id)


async def _save(member: Member, fields: list[str]) -> None:
    _touched(member)
    try:
        await member.save(update_fields=sorted(set(fields)))
    except IntegrityError:
        raise conflict("This email already has an open invitation or membership", "email") from None


# -- owner side -----------------------------------------------------------------------


async def owned_member(owner: Account, member_id: uuid.UUID | None) -> Member:
    """Another owner's member is reported exactly like a missing one."""
    member = None
    if member_id is not None:
        member = await Member.filter(id=member_id, owner_id=owner.id).select_for_update().first()
    if member is None:
        raise not_found("Member", "id")
    return member


async def _check_invitable(owner: Account, email: str) -> None:
    if email == owner.email:
        raise validation("You cannot invite yourself", "email")
    if await Member.exists(owner_id=owner.id, open_slot=email):
        raise conflict("This email already has an open invitation or membership", "email")


async def invite(
    owner: Account,
    email: str,
    display_name: str | None,
    account_role: AccountRole,
    share_requests: Sequence[ShareRequest],
    ttl_hours: int,
) -> tuple[Member, str]:
    require_verified(owner)
    normalized = normalize_email(email)
    name = clean_display_name(display_name) or None
    specs = await sharing.parse_requests(owner.id, share_requests)
    await _check_invitable(owner, normalized)
    member = Member(
        id=uuid.uuid4(), owner=owner, email=normalized, display_name=name,
        account_role=account_role, status=MemberStatus.PENDING, invited_at=utcnow(),
        open_slot=normalized,
    )  # fmt: skip
    _touched(member)
    try:
        await member.save(force_create=True)
    except IntegrityError:
        raise conflict("This email already has an open invitation or membership", "email") from None
    for spec in specs:
        await sharing._write(member, spec)
    token = await _issue_token(member, ttl_hours)
    await member.save(update_fields=["invitation_expires_at"])
    await _log(member, owner.id, "member.invite", email=normalized, shares=len(specs))
    await _send_invitation(member, token, "invite")
    return member, token


@dataclass
class MemberChanges:
    display_name: str | None = None
    set_display_name: bool = False
    account_role: AccountRole | None = None
    shares: Sequence[ShareRequest] | None = None


@dataclass
class MemberUpdatePlan:
    """`updateMember`, validated and not yet written: `apply` writes it, `effect` says
    what it does to the resolver's inputs (the member's shares, when they are replaced)."""

    owner: Account
    member: Member
    display_name: str | None
    set_display_name: bool
    account_role: AccountRole | None
    specs: list[sharing.ShareSpec] | None

    @property
    def effect(self) -> AccessEffect:
        specs = self.specs
        if specs is None:  # the account role decides env.create at the root only
            return AccessEffect(self.owner.id, members=[self.member])
        return AccessEffect(self.owner.id, members=[self.member],
                            shares={self.member.id: lambda _: [s.info() for s in specs]})  # fmt: skip

    async def apply(self) -> Member:
        member, owner, specs = self.member, self.owner, self.specs
        fields: list[str] = []
        if self.set_display_name:
            member.display_name = self.display_name
            fields.append("display_name")
        role_changed = self.account_role is not None and self.account_role != member.account_role
        if self.account_role is not None:
            member.account_role = self.account_role
            fields.append("account_role")
        if fields:
            await _save(member, [*fields, "updated_at"])
        await _log(member, owner.id, "member.update", fields=fields,
                   shares=None if specs is None else len(specs))  # fmt: skip
        if specs is not None:
            await sharing.replace_shares(member, specs, owner.id)
        elif role_changed and member.account_id is not None:
            outbox.notify([member.account_id], "member.account_role", owner.id)
        return member


async def plan_update(
    owner: Account, member_id: uuid.UUID | None, changes: MemberChanges
) -> MemberUpdatePlan:
    """Every check `updateMember` makes, and nothing written."""
    member = await owned_member(owner, member_id)
    specs = (
        await sharing.parse_requests(owner.id, changes.shares)
        if changes.shares is not None
        else None
    )
    name = (clean_display_name(changes.display_name) or None) if changes.set_display_name else None
    return MemberUpdatePlan(owner, member, name, changes.set_display_name, changes.account_role,
                            specs)  # fmt: skip


async def update(owner: Account, member_id: uuid.UUID | None, changes: MemberChanges) -> Member:
    return await (await plan_update(owner, member_id, changes)).apply()


async def copy(
    owner: Account, member_id: uuid.UUID | None, email: str, display_name: str | None,
    ttl_hours: int,
) -> tuple[Member, str]:  # fmt: skip
    source = await owned_member(owner, member_id)
    normalized = normalize_email(email)
    await _check_invitable(owner, normalized)
    member, token = await invite(
        owner, normalized, display_name, source.account_role, [], ttl_hours
    )
    await sharing.copy_shares(source, member)
    await _log(member, owner.id, "member.copy", source=str(source.id))
    return member, token


# What the collaborator is told by email after the owner's change (workers/members.py).
STATUS_EMAILS = {Event.SUSPEND: "suspended", Event.ACTIVATE: "activated", Event.REMOVE: "removed"}
COLLABORATING = frozenset({MemberStatus.ACTIVE, MemberStatus.SUSPENDED, MemberStatus.TRIAL_EXPIRED})


async def _owner_transition(owner: Account, member_id: uuid.UUID | None, event: Event) -> Member:
    member = await owned_member(owner, member_id)
    was_collaborating = member.status in COLLABORATING
    fields = transition(member, event)
    await _save(member, fields)
    await _log(member, owner.id, f"member.{event.value}")
    if member.account_id is not None:
        outbox.notify([member.account_id], f"member.{event.value}", owner.id)
    if member.account_id is not None and was_collaborating:  # not an invitee, not ended
        await outbox.add(Job.MEMBER_STATUS_EMAIL,
                         {"member_id": str(member.id), "change": STATUS_EMAILS[event]},
                         owner.id)  # fmt: skip
    return member


async def suspend(owner: Account, member_id: uuid.UUID | None) -> Member:
    return await _owner_transition(owner, member_id, Event.SUSPEND)


async def activate(owner: Account, member_id: uuid.UUID | None) -> Member:
    member = await _owner_transition(owner, member_id, Event.ACTIVATE)
    await outbox.add(Job.SHARE_NOTIFICATIONS, {"member_id": str(member.id)}, owner.id)
    return member


async def remove(owner: Account, member_id: uuid.UUID | None) -> Member:
    member = await _owner_transition(owner, member_id, Event.REMOVE)
    await _retire_tokens(member)
    return member


async def reinvite(
    owner: Account, member_id: uuid.UUID | None, ttl_hours: int
) -> tuple[Member, str]:
    require_verified(owner)
    member = await owned_member(owner, member_id)
    transition(member, Event.REINVITE)  # raises INVALID_STATE before anything is written
    if (
        await Member.filter(owner_id=owner.id, open_slot=member.email)
        .exclude(id=member.id)
        .exists()
    ):
        raise conflict("This email already has an open invitation or membership", "email")
    member.invited_at, member.accepted_at = utcnow(), None
    token = await _issue_token(member, ttl_hours)
    await _save(member, ["status", "open_slot", "invited_at", "accepted_at",
                         "invitation_expires_at", "updated_at"])  # fmt: skip
    await _log(member, owner.id, "member.reinvite")
    await _send_invitation(member, token, "reinvite")
    return member, token


async def resend(owner: Account, member_id: uuid.UUID | None, ttl_hours: int) -> tuple[Member, str]:
    require_verified(owner)
    member = await owned_member(owner, member_id)
    transition(member, Event.RESEND)
    token = await _issue_token(member, ttl_hours)
    await _save(member, ["invitation_expires_at", "updated_at"])
    await _log(member, owner.id, "member.resend")
    await _send_invitation(member, token, "resend")
    return member, token


# -- invitee side ---------------------------------------------------------------------


async def invitation_by_token(token: str) -> Member:
    """Token checks come first, before any account or state check."""
    row = await InvitationToken.get_or_none(token_hash=token_hash(token or "")).select_related(
        "member"
    )
    if row is None or row.used_at is not None or row.revoked_at is not None:
        raise DomainError(ErrorCode.INVALID_TOKEN, INVALID_TOKEN, "token")
    member: Member = row.member
    if member.status is not MemberStatus.PENDING:
        raise DomainError(ErrorCode.INVALID_TOKEN, INVALID_TOKEN, "token")
    if row.expires_at <= utcnow():
        raise DomainError(ErrorCode.TOKEN_EXPIRED, EXPIRED_TOKEN, "token")
    return member


async def _invitee_member(
    account: Account | None, token: str | None, member_id: uuid.UUID | None
) -> Member:
    if (token is None) == (member_id is None):
        raise validation("Give either the token or the invitation id", "token")
    if token is not None:
        member = await invitation_by_token(token)
        if account is not None and account.email != member.email:
            raise DomainError(ErrorCode.INVALID_TOKEN, INVALID_TOKEN, "token")
        return await Member.filter(id=member.id).select_for_update().first() or member
    if account is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "Log in first")
    # Matching by email alone is only safe once the account proved it owns the address:
    # otherwise whoever signs up first with the invitee's email takes the invitation.
    require_verified(account, VERIFY_BEFORE_INVITATIONS)
    found = await Member.filter(id=member_id, email=account.email).select_for_update().first()
    if found is None:
        raise not_found("Invitation", "id")
    if found.status is MemberStatus.PENDING and (
        found.invitation_expires_at is not None and found.invitation_expires_at <= utcnow()
    ):
        raise DomainError(ErrorCode.TOKEN_EXPIRED, EXPIRED_TOKEN, "id")
    return found


async def accept_invitation(
    *, account: Account | None, token: str | None = None, member_id: uuid.UUID | None = None
) -> Member:
    member = await _invitee_member(account, token, member_id)
    if account is None:  # token path without a login
        raise DomainError(ErrorCode.UNAUTHENTICATED, "Log in first")
    fields = transition(member, Event.ACCEPT)
    member.account = account
    await _save(member, [*fields, "account_id"])
    if token is not None:  # the emailed link reached this address: it is proven
        await mark_email_verified(account)
    await _retire_tokens(member)
    await audit.record(
        owner_id=member.owner_id, actor_id=account.id, action="member.accept",
        target_type="Member", target_id=member.id,
    )  # fmt: skip
    await outbox.add(Job.DECISION_EMAIL, {"member_id": str(member.id), "decision": "accepted"},
                     member.owner_id)  # fmt: skip
    await outbox.add(Job.SHARE_NOTIFICATIONS, {"member_id": str(member.id)}, member.owner_id)
    outbox.notify([account.id], "member.accept", member.owner_id)
    return member


async def reject_invitation(
    *, account: Account | None, token: str | None = None, member_id: uuid.UUID | None = None
) -> Member:
    member = await _invitee_member(account, token, member_id)
    fields = transition(member, Event.REJECT)
    await _save(member, fields)
    await _retire_tokens(member)
    await audit.record(
        owner_id=member.owner_id, actor_id=account.id if account else None,
        action="member.reject", target_type="Member", target_id=member.id,
    )  # fmt: skip
    await outbox.add(Job.DECISION_EMAIL, {"member_id": str(member.id), "decision": "rejected"},
                     member.owner_id)  # fmt: skip
    return member


async def sign_up_with_invitation(
    *, token: str, password: str, display_name: str | None, trial_days: int,
    caller: Account | None = None,
) -> tuple[Account, Member]:  # fmt: skip
    """`caller`: the account already logged in, if any; a token for another email is no
    token for it."""
    member = await invitation_by_token(token)
    if caller is not None and caller.email != member.email:
        raise DomainError(ErrorCode.INVALID_TOKEN, INVALID_TOKEN, "token")
    if await Account.exists(email=member.email):
        raise conflict("An account with this email exists: log in and accept instead", "email")
    account = await create_account(
        member.email,
        password,
        display_name,
        AccountKind.COLLABORATOR,
        trial_days,
        email_verified=True,  # the emailed invitation link proves the address
    )
    return account, await accept_invitation(account=account, token=token)


async def leave(account: Account, member_id: uuid.UUID | None) -> Member:
    member = None
    if member_id is not None:
        # The invitee sees its invitations too, so leaving one is a state error, not 404.
        yours = Q(account_id=account.id)
        if is_verified(account):
            yours |= Q(email=account.email)
        mine = Member.filter(yours, id=member_id)
        member = await mine.select_for_update().first()
    if member is None:
        raise not_found("Membership", "memberId")
    fields = transition(member, Event.LEAVE)
    await _save(member, fields)
    await audit.record(
        owner_id=member.owner_id, actor_id=account.id, action="member.leave",
        target_type="Member", target_id=member.id,
    )  # fmt: skip
    await outbox.add(Job.DECISION_EMAIL, {"member_id": str(member.id), "decision": "left"},
                     member.owner_id)  # fmt: skip
    outbox.notify([account.id], "member.leave", member.owner_id)
    return member


def is_open(member: Member) -> bool:
    return member.status in OPEN
