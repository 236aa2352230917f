"""Accounts: sign-up, log-in, bearer sessions and account kinds."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from tortoise import connections
from tortoise.exceptions import IntegrityError

from domain import user_text, versions
from domain.clock import utcnow
from domain.errors import DomainError, ErrorCode, conflict, validation
from domain.rate_limit import RateLimited
from domain.tokens import token_hash
from infra.adapters.tortoise_sqlite import from_row
from infra.cpu_pool import BoundedPool, PoolBusy
from models import Account, AccountKind, NotificationPreference, Session

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME = 120
BAD_LOGIN = "Email or password is incorrect"

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# Every hash and verification runs here, off the event loop and a few at a time
# (sized from PASSWORD_HASH_THREADS and PASSWORD_HASH_BACKLOG by the gateway).
hashing = BoundedPool("password-hash")
BUSY = "Too many accounts are being created right now"


def _check_syntax(address: str) -> str:
    return validate_email(
        address, check_deliverability=False, globally_deliverable=False, test_environment=True
    ).normalized


def normalize_email(raw: str, field: str = "email") -> str:
    """Syntax only (no DNS). Reserved and special-use domains (`*.example`, `*.invalid`,
    `*.local`, ...) are valid: email_validator refuses the latter on principle, so such a
    domain is checked with a stand-in top-level label of the same syntax."""
    address = raw.strip()
    try:
        return _check_syntax(address).lower()
    except EmailNotValidError as exc:
        refusal = exc
    local, _, domain = address.rpartition("@")
    labels = domain.rstrip(".").split(".")
    if "special-use" in str(refusal) and local and len(labels) >= 2:
        try:
            checked = _check_syntax(f"{local}@{'.'.join([*labels[:-1], 'example'])}")
        except EmailNotValidError as exc:
            refusal = exc
        else:
            return f"{checked.rpartition('@')[0]}@{domain.rstrip('.')}".lower()
    raise validation(f"Not a valid email address: {refusal}", field) from None


def check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise validation(f"Use at least {MIN_PASSWORD_LENGTH} characters", field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise validation("Password is too long", field)


def clean_display_name(value: str | None, field: str = "displayName") -> str:
    name = (value or "").strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise validation(f"At most {MAX_DISPLAY_NAME} characters", field)
    return user_text.check_name(name, field)


async def hash_password(password: str, *, may_refuse: bool = False) -> str:
    """argon2 is deliberately slow: it runs in the bounded pool. `may_refuse`: when the
    pool's queue is full, RATE_LIMITED at once (sign-ups) rather than a long wait."""
    hasher = _hasher  # read now: tests swap it for a cheaper one
    try:
        return await hashing.run(hasher.hash, password, may_refuse=may_refuse)
    except PoolBusy:
        raise RateLimited(BUSY, 1) from None


async def verify_password(password_hash: str, password: str) -> bool:
    hasher = _hasher

    def _verify() -> bool:
        try:
            return hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await hashing.run(_verify)


@dataclass(frozen=True)
class NewAccount:
    """Checked and hashed, ready to insert."""

    email: str
    password_hash: str
    display_name: str


async def prepare_account(email: str, password: str, display_name: str | None) -> NewAccount:
    """Validation and the password hash, to run *before* the transaction: a transaction
    that waits for argon2 holds a connection (SQLite's only one) meanwhile, and every
    other request waits with it."""
    normalized = normalize_email(email)
    check_password(password)
    name = clean_display_name(display_name)
    # Hashed before the email is looked up: a taken email costs the same time as a new one.
    password_hash = await hash_password(password, may_refuse=True)
    return NewAccount(normalized, password_hash, name or normalized.split("@", 1)[0])


async def insert_account(
    new: NewAccount, kind: AccountKind, trial_days: int, *, email_verified: bool = False
) -> Account:
    if await Account.exists(email=new.email):
        raise conflict("An account with this email already exists", "email")
    trial_ends_at = utcnow() + timedelta(days=trial_days) if kind is AccountKind.TRIAL else None
    try:
        return await Account.create(
            email=new.email,
            display_name=new.display_name,
            password_hash=new.password_hash,
            kind=kind,
            trial_ends_at=trial_ends_at,
            email_verified_at=utcnow() if email_verified else None,
        )
    except IntegrityError:
        raise conflict("An account with this email already exists", "email") from None


async def create_account(
    email: str,
    password: str,
    display_name: str | None,
    kind: AccountKind,
    trial_days: int,
    *,
    email_verified: bool = False,
) -> Account:
    """Validates everything before writing, so a refusal leaves no row behind."""
    new = await prepare_account(email, password, display_name)
    return await insert_account(new, kind, trial_days, email_verified=email_verified)


async def authenticate(email: str, password: str) -> Account:
    """The same answer, after the same work, whether the email exists or not."""
    try:
        normalized = normalize_email(email)
    except DomainError:
        normalized = None
    account = await Account.get_or_none(email=normalized) if normalized else None
    ok = await verify_password(account.password_hash if account else _DUMMY_HASH, password)
    if account is None or not ok:
        raise DomainError(ErrorCode.UNAUTHENTICATED, BAD_LOGIN)
    return account


async def open_session(account: Account, ttl_hours: int) -> str:
    token = secrets.token_urlsafe(32)
    await Session.create(
        id=uuid.uuid4(),
        account=account,
        token_hash=token_hash(token),
        expires_at=utcnow() + timedelta(hours=ttl_hours),
    )
    return token


_ACCOUNT_BY_TOKEN = (
    "SELECT account.*, session.expires_at AS session_expires_at, "
    "session.revoked_at AS session_revoked_at "
    "FROM session JOIN account ON account.id = session.account_id "
    "WHERE session.token_hash = {}"
)


async def account_for_token(token: str) -> Account | None:
    """Every request that missed the response cache pays this look-up, so it is one plain
    statement rather than an ORM query: building the ORM's query was 80 % of a cached
    answer's time (profiled)."""
    found = await session_for_token(token)
    return found[0] if found else None


async def session_for_token(token: str) -> tuple[Account, datetime] | None:
    """The account of a live session and when the session expires."""
    connection = connections.get("default")
    placeholder = "$1" if connection.capabilities.dialect == "postgres" else "?"
    rows = await connection.execute_query_dict(
        _ACCOUNT_BY_TOKEN.format(placeholder), [token_hash(token)]
    )
    if not rows:
        return None
    row = dict(rows[0])
    fields = Session._meta.fields_map
    expires_at = fields["expires_at"].to_python_value(row.pop("session_expires_at"))
    revoked_at = fields["revoked_at"].to_python_value(row.pop("session_revoked_at"))
    if revoked_at is not None or expires_at <= utcnow():
        return None
    return from_row(Account, row), expires_at


async def revoke_session(token: str) -> bool:
    """In a unit of work: its commit drops the session wherever a gateway remembered it."""
    live = Session.filter(token_hash=token_hash(token), revoked_at=None)
    for account_id in await live.values_list("account_id", flat=True):
        versions.touch_sessions(str(account_id))
    return await live.update(revoked_at=utcnow()) > 0


async def end_sessions(account_id: uuid.UUID, keep_token: str | None = None) -> int:
    """Revoke every live session of the account but the one carrying `keep_token` (in a
    unit of work, like `revoke_session`)."""
    versions.touch_sessions(account_id)
    live = Session.filter(account_id=account_id, revoked_at=None)
    if keep_token is not None:
        live = live.exclude(token_hash=token_hash(keep_token))
    return await live.update(revoked_at=utcnow())


def trial_expired(account: Account, now: datetime | None = None) -> bool:
    if account.kind is AccountKind.TRIAL:
        versions.valid_until(account.trial_ends_at)  # cached answers end with the trial
    return (
        account.kind is AccountKind.TRIAL
        and account.trial_ends_at is not None
        and account.trial_ends_at <= (now or utcnow())
    )


def may_create_on_own_account(account: Account) -> bool:
    return account.kind is AccountKind.FULL or (
        account.kind is AccountKind.TRIAL and not trial_expired(account)
    )


async def set_notification_preference(
    account_id: uuid.UUID, preference: NotificationPreference
) -> Account:
    """Not audited, like the other changes to one's own account (the audit log is the
    owners' record of their resources). Jobs already queued follow the new choice: a
    share job reads the preference when it runs."""
    account = await Account.get(id=account_id)
    if account.notification_preference is not preference:
        account.notification_preference = preference
        await account.save(update_fields=["notification_preference", "updated_at"])
    return account
