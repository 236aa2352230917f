"""Secret tokens (sessions, invitation, reset and verification links) are stored only as
this hash: a look-up by hash compares no secrets in Python, and a leaked table holds none.
"""

from __future__ import annotations

import hashlib


def token_hash(token: str) -> str:
    """The one way a token is hashed, so every table and cache key agrees."""
    return hashlib.sha256(token.encode()).hexdigest()
