"""Owner-side member management and the invitee's decisions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from domain import account_care, rate_limit
from domain import members as lifecycle
from domain.errors import DomainError, ErrorCode
from domain.ids import parse_id
from models import Account as AccountModel
from models import Member as MemberModel
from schema.accounts.types import Account, AuthPayload
from schema.context import Context, Info
from schema.errors import ApiError, returns_payload
from schema.members.inputs import InviteMemberInput, UpdateMemberInput
from schema.members.types import Member, MemberPayload


async def _inviting(context: Context) -> AccountModel:
    """Invitations send email to strangers: capped per owner."""
    owner = context.caller_for_mutation()
    account_care.require_verified(owner)  # before counting: a refusal costs no quota
    await rate_limit.take_all(
        context.services.limiter, [(rate_limit.INVITATIONS_PER_OWNER, str(owner.id))],
        "Too many invitations",
    )  # fmt: skip
    return owner


async def _guarding_token(
    context: Context, token: str | None, change: Callable[[], Awaitable[Any]]
) -> Any:
    """Failed token presentations count towards the per-address guess limit."""
    if token is None:
        return await context.commit(change)
    async with rate_limit.attempt(
        context.services.limiter, [(rate_limit.TOKEN_GUESSES_PER_ADDRESS, context.client_address)],
        "Too many invitation attempts", rate_limit.token_refused,
    ):  # fmt: skip
        return await context.commit(change)


def _ttl(context: Context) -> int:
    return context.settings.INVITATION_TTL_HOURS


def member_changes(input: UpdateMemberInput) -> lifecycle.MemberChanges:
    """`UpdateMemberInput` as the domain reads it (`updateMember` and its preview)."""
    return lifecycle.MemberChanges(
        display_name=input.display_name if input.display_name is not strawberry.UNSET else None,
        set_display_name=input.display_name is not strawberry.UNSET,
        account_role=input.account_role,
        shares=None if input.shares is None else [s.request() for s in input.shares],
    )


def _payload(member: MemberModel) -> MemberPayload:
    return MemberPayload(member=Member.of(member))


# inviteMembers: one transaction and one count against the invitation limit per input.
MAX_BULK_INVITATIONS = 100


@returns_payload(MemberPayload)
async def _invite(context: Context, input: InviteMemberInput) -> MemberPayload:
    """inviteMember, and each item of inviteMembers: the one path for an invitation."""
    owner = await _inviting(context)
    requests = [s.request() for s in input.shares]
    member, _ = await context.commit(lambda: lifecycle.invite(
        owner, input.email, input.display_name, input.account_role, requests,
        _ttl(context),
    ))  # fmt: skip
    return _payload(member)


async def _decide(
    context: Context, token: str | None, id: strawberry.ID | None,
    decision: Callable[..., Awaitable[MemberModel]],
) -> MemberPayload:  # fmt: skip
    """The invitee's answer, by token (checked first) or, logged in, by invitation id."""
    member_id = parse_id(id) if id is not None else None
    if id is not None and member_id is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Invitation not found", "id")
    try:
        member = await _guarding_token(context, token, lambda: decision(
            account=context.account, token=token, member_id=member_id
        ))  # fmt: skip
    except DomainError as error:
        if error.code is ErrorCode.UNAUTHENTICATED and context.token_rejected:
            raise DomainError(error.code, context.unauthenticated_message) from None
        raise
    return _payload(member)


@strawberry.type
class MemberMutation:
    @strawberry.mutation(description="Invite a collaborator by email; the member starts PENDING.")
    @returns_payload(MemberPayload)
    async def invite_member(self, info: Info, input: InviteMemberInput) -> MemberPayload:
        return await _invite(info.context, input)

    @strawberry.mutation(
        description=f"Invite up to {MAX_BULK_INVITATIONS} collaborators: one payload per input, "
        "in input order, each its own transaction, invitation email and count against the "
        "invitation rate limit (an item past the limit is RATE_LIMITED, earlier ones stand)."
    )
    async def invite_members(
        self, info: Info, inputs: list[InviteMemberInput]
    ) -> list[MemberPayload]:
        if len(inputs) > MAX_BULK_INVITATIONS:  # whatever MAX_INPUT_LIST says; nothing written
            raise ApiError(
                ErrorCode.VALIDATION,
                f"inviteMembers takes at most {MAX_BULK_INVITATIONS} inputs, got {len(inputs)}",
                limit="input",
            )
        # One after the other: each sees the ones before it (a repeated email is CONFLICT).
        return [await _invite(info.context, item) for item in inputs]

    @strawberry.mutation(description="Edit a member; `shares`, when given, replaces all shares.")
    @returns_payload(MemberPayload)
    async def update_member(
        self, info: Info, id: strawberry.ID, input: UpdateMemberInput
    ) -> MemberPayload:
        owner = info.context.caller_for_mutation()
        changes = member_changes(input)
        member = await info.context.commit(lambda: lifecycle.update(owner, parse_id(id), changes))
        return _payload(member)

    @strawberry.mutation(description="A new PENDING member with the same account role and shares.")
    @returns_payload(MemberPayload)
    async def copy_member(
        self, info: Info, id: strawberry.ID, email: str, display_name: str | None = None
    ) -> MemberPayload:
        owner = await _inviting(info.context)
        member, _ = await info.context.commit(lambda: lifecycle.copy(
            owner, parse_id(id), email, display_name, _ttl(info.context)
        ))  # fmt: skip
        return _payload(member)

    @strawberry.mutation
    @returns_payload(MemberPayload)
    async def suspend_member(self, info: Info, id: strawberry.ID) -> MemberPayload:
        owner = info.context.caller_for_mutation()
        return _payload(await info.context.commit(lambda: lifecycle.suspend(owner, parse_id(id))))

    @strawberry.mutation
    @returns_payload(MemberPayload)
    async def activate_member(self, info: Info, id: strawberry.ID) -> MemberPayload:
        owner = info.context.caller_for_mutation()
        return _payload(await info.context.commit(lambda: lifecycle.activate(owner, parse_id(id))))

    @strawberry.mutation(description="End the collaboration; the record and shares are kept.")
    @returns_payload(MemberPayload)
    async def remove_member(self, info: Info, id: strawberry.ID) -> MemberPayload:
        owner = info.context.caller_for_mutation()
        return _payload(await info.context.commit(lambda: lifecycle.remove(owner, parse_id(id))))

    @strawberry.mutation(
        description="A new invitation for a REMOVED, LEFT, REJECTED or EXPIRED member."
    )
    @returns_payload(MemberPayload)
    async def reinvite_member(self, info: Info, id: strawberry.ID) -> MemberPayload:
        owner = await _inviting(info.context)
        member, _ = await info.context.commit(
            lambda: lifecycle.reinvite(owner, parse_id(id), _ttl(info.context))
        )
        return _payload(member)

    @strawberry.mutation(
        description="Send a PENDING invitation again; the previous link stops working."
    )
    @returns_payload(MemberPayload)
    async def resend_invitation(self, info: Info, id: strawberry.ID) -> MemberPayload:
        owner = await _inviting(info.context)
        member, _ = await info.context.commit(
            lambda: lifecycle.resend(owner, parse_id(id), _ttl(info.context))
        )
        return _payload(member)

    @strawberry.mutation(description="Accept by the emailed token or, logged in, by invitation id.")
    @returns_payload(MemberPayload)
    async def accept_invitation(
        self, info: Info, token: str | None = None, id: strawberry.ID | None = None
    ) -> MemberPayload:
        return await _decide(info.context, token, id, lifecycle.accept_invitation)

    @strawberry.mutation(description="Reject by the emailed token or, logged in, by invitation id.")
    @returns_payload(MemberPayload)
    async def reject_invitation(
        self, info: Info, token: str | None = None, id: strawberry.ID | None = None
    ) -> MemberPayload:
        return await _decide(info.context, token, id, lifecycle.reject_invitation)

    @strawberry.mutation(
        description="Create a COLLABORATOR account for the invited email and accept."
    )
    @returns_payload(AuthPayload)
    async def sign_up_with_invitation(
        self, info: Info, token: str, password: str, display_name: str | None = None
    ) -> AuthPayload:
        from domain.accounts import open_session

        context = info.context
        account, _ = await _guarding_token(context, token, lambda: lifecycle.sign_up_with_invitation(
            token=token, password=password, display_name=display_name,
            trial_days=context.settings.TRIAL_DAYS, caller=context.account,
        ))  # fmt: skip
        session = await open_session(account, context.settings.SESSION_TTL_HOURS)
        return AuthPayload(token=session, account=Account.of(account))

    @strawberry.mutation(description="Stop collaborating with an owner.")
    @returns_payload(MemberPayload)
    async def leave_collaboration(self, info: Info, member_id: strawberry.ID) -> MemberPayload:
        account = info.context.caller_for_mutation()
        member = await info.context.commit(lambda: lifecycle.leave(account, parse_id(member_id)))
        return _payload(member)
