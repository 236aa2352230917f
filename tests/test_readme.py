"""The README stays a newcomer's page: short, and every link in it and in docs/ leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)|src=\"([^\"]+)\"")


def _links(page: Path) -> list[str]:
    return [a or b for a, b in LINK.findall(page.read_text()) if not re.match(r"\w+:", a or b)]


def test_the_readme_is_at_most_300_lines() -> None:
    assert len(README.read_text().splitlines()) <= 300


def test_the_readme_links_every_docs_page_and_each_exists() -> None:
    links = _links(README)
    assert {"docs/api.md", "docs/operations.md", "docs/security.md", "docs/architecture.md",
            "docs/benchmarks.md", "docs/decisions.md", "docs/CONTRACT.md"} <= set(links)  # fmt: skip
    missing = [link for link in links if not (ROOT / link).exists()]
    assert missing == []


def test_links_in_docs_lead_to_files_in_the_repository() -> None:
    missing = [
        f"{page.name}: {link}"
        for page in sorted((ROOT / "docs").glob("*.md"))
        for link in _links(page)
        if not (page.parent / link).resolve().exists()
    ]
    assert missing == []


def test_nothing_points_outside_the_repository() -> None:
    for page in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        assert "../shared" not in page.read_text(), page.name
        for link in _links(page):
            assert (page.parent / link).resolve().is_relative_to(ROOT), f"{page.name}: {link}"


def test_the_benchmark_targets_are_printed_in_the_docs() -> None:
    text = (ROOT / "docs/benchmarks.md").read_text()
    for target in ("≤ 1.2", "≥ 0.25", "< 50 ms", "≥ 0.8", "within 2 s"):
        assert target in text
