"""Opaque ids: random UUIDs on the wire, parsed strictly on the way in."""

from __future__ import annotations

import uuid


def parse_id(value: str | None) -> uuid.UUID | None:
    """A malformed id names nothing, so it is reported like a missing object."""
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
