"""Bearer and invitation tokens: at least 128 bits of entropy, stored only as hashes."""

from __future__ import annotations

import math
import string

from tortoise import Tortoise

from tests.utils.accounts import sign_up
from tests.utils.members import invitation_token, invite

URLSAFE = set(string.ascii_letters + string.digits + "-_")


def entropy_bits(tokens: list[str]) -> float:
    """Bits per token if every character is drawn from the alphabet the tokens use."""
    assert all(set(t) <= URLSAFE for t in tokens)
    return min(len(t) for t in tokens) * math.log2(len(URLSAFE))


async def every_stored_value() -> str:
    dump = []
    for model in Tortoise.apps["models"].values():
        for row in await model.all().values():
            dump.append(repr(row))
    return "\n".join(dump)


async def test_tokens_carry_128_bits_and_only_their_hashes_are_stored(gql):
    owner = await sign_up(gql, "Owner")
    sessions = [owner.token] + [(await sign_up(gql, f"u{i}")).token for i in range(15)]
    invitations = [await invitation_token((await invite(owner, f"i{i}@collab.example"))["id"])
                   for i in range(15)]  # fmt: skip
    for tokens in (sessions, invitations):
        assert len(set(tokens)) == len(tokens)
        assert entropy_bits(tokens) >= 128
        # Drawn from the whole alphabet, not a narrow part of it.
        assert len(set("".join(tokens))) > 50
    stored = await every_stored_value()
    assert not [t for t in sessions if t in stored]
    # The invitation's raw token waits in the outbox row only until its email is sent.
    from models import InvitationToken

    hashes = set(await InvitationToken.all().values_list("token_hash", flat=True))
    assert len(hashes) >= len(invitations) and not hashes & set(invitations)
