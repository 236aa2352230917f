"""Making accounts through the public API, as a client would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.utils.graphql import GraphQLClient

SIGN_UP = """
mutation($email: String!, $password: String!, $displayName: String) {
  signUp(email: $email, password: $password, displayName: $displayName) {
    token account { id email displayName kind trialEndsAt } errors { code message field }
  }
}"""

PASSWORD = "correct horse battery"


@dataclass
class User:
    id: str
    email: str
    token: str
    gql: GraphQLClient


async def sign_up(
    gql: GraphQLClient, name: str | None = None, email: str | None = None, *,
    verified: bool = True,
) -> User:  # fmt: skip
    """`verified`: the account then counts as having followed its verification link (the
    tests about verification itself follow the real emailed link instead)."""
    slug = (name or "user").lower().replace(" ", "-")
    email = email or f"{slug}-{uuid.uuid4().hex[:6]}@collab.example"
    r = await gql(SIGN_UP, email=email, password=PASSWORD, displayName=name)
    p = r.ok("signUp")
    if verified:
        await mark_verified(p["account"]["id"])
    return User(p["account"]["id"], p["account"]["email"], p["token"], gql.as_(p["token"]))


async def mark_verified(account_id: str) -> None:
    """What the verification page does once its link checked out (the same domain call)."""
    from domain.account_care import mark_email_verified
    from models import Account

    await mark_email_verified(await Account.get(id=account_id))


async def mark_verified_in(database_url: str, account_id: str) -> None:
    """`mark_verified` for a gateway running in another process, on its database."""
    from tortoise import Tortoise
    from tortoise.backends.base import executor

    from infra.db import tortoise_config

    executor.EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await mark_verified(account_id)
    finally:
        await Tortoise.close_connections()


def emailed_verification_token(database_url: str, account_id: str) -> str:
    """The token of the verification email still waiting in the outbox (no worker ran),
    read from a SQLite database another thread or process serves."""
    import json
    import sqlite3

    with sqlite3.connect(database_url.removeprefix("sqlite://")) as db:
        rows = db.execute("SELECT payload FROM outbox_job WHERE job = 'email_verification_email'")
        payloads = [json.loads(raw) for (raw,) in rows]
    (token,) = [p["token"] for p in payloads if p["account_id"] == account_id]
    return str(token)
