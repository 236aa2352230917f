"""The package layers (pyproject's import-linter contract): an upward import, such as the
shared infrastructure reaching for the models or the API reaching for the gateway, fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("collab", "gateway", "workers", "schema", "domain", "models", "infra")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True
    )


def test_every_import_runs_downward() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The contract is live: a tree where infra imports a model is refused."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "infra" / "settings.py").write_text("from models import account\n")
    (tmp_path / "models" / "account.py").write_text("")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "infra.settings -> models.account" in result.stdout
