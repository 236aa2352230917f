"""Names people type that other people read: no line breaks, control or direction characters.

A name travels into emails, pages and other people's screens. A line break there can pose
as a header or a new paragraph ("Your bank\\r\\nBcc: ..."); a bidi control (U+202E and its
kin) reorders what the reader sees. Names are refused with them on the way in
(`check_name`); what is rendered is cleaned again (`plain`, `quoted`), so rows written
before the check, or names that come from the platform, cannot inject either.
"""

from __future__ import annotations

import unicodedata

from domain.errors import validation

# The explicit directional formatting characters of Unicode's bidi algorithm (UAX #9):
# marks, embeddings, overrides and isolates.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Controls (C0, DEL, C1: CR, LF, tab, NEL...), line and paragraph separators, and lone
# surrogates (a JSON "\ud800" decodes to one; no database can store it as UTF-8).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
REFUSAL = "No line breaks, control characters or text-direction characters"


def is_unsafe(char: str) -> bool:
    return char in BIDI_CONTROLS or unicodedata.category(char) in _UNSAFE_CATEGORIES


def check_name(value: str, field: str) -> str:
    """`value` unchanged, or a VALIDATION error naming `field`."""
    if any(is_unsafe(c) for c in value):
        raise validation(REFUSAL, field)
    return value


def plain(value: str) -> str:
    """One line of visible text: direction controls dropped, every other unsafe character
    and run of white space made a single space."""
    kept = "".join("" if c in BIDI_CONTROLS else " " if is_unsafe(c) else c for c in value)
    return " ".join(kept.split())


def quoted(value: str, limit: int | None = None) -> str:
    """A name as data inside a sentence: “Olga Owner”, on one line, without quotation
    marks of its own that could close the quote early, and at most `limit` characters."""
    text = plain(value).replace("“", "'").replace("”", "'").replace('"', "'")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"“{text}”"
