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


async def sign_up(gql: GraphQLClient, name: str | None = None, email: str | None = None) -> User:
    slug = (name or "user").lower().replace(" ", "-")
    email = email or f"{slug}-{uuid.uuid4().hex[:6]}@collab.example"
    r = await gql(SIGN_UP, email=email, password=PASSWORD, displayName=name)
    p = r.ok("signUp")
    return User(p["account"]["id"], p["account"]["email"], p["token"], gql.as_(p["token"]))
