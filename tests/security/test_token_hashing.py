"""Every stored token is hashed by one function (domain.tokens.token_hash), so a session,
an invitation link and an account link can never be hashed two different ways."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("collab", "gateway", "schema", "workers", "domain", "models", "infra")


def test_no_module_but_domain_tokens_hashes_a_token_itself() -> None:
    pattern = re.compile(r"sha256\([^)]*token", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "domain/tokens.py" and pattern.search(path.read_text())
    ]
    assert offenders == []
