"""The production image: its package list is pyproject's, and what it copies starts.

No Docker daemon runs here, so scripts/check_image.py carries out the Dockerfile's final
stage in a fresh virtual environment (or uses `docker build`/`docker run` where one runs).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import missing_service, port_open

ROOT = Path(__file__).resolve().parents[2]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_image", ROOT / "scripts/check_image.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_image", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _packages() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.rstrip("*") for pattern in include}


def test_the_image_copies_exactly_the_packages_pyproject_installs() -> None:
    copied = set(_checker().copied_directories(ROOT / "Dockerfile"))
    assert copied == _packages(), "Dockerfile COPY lines and pyproject's packages.find differ"


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    checker = _checker()
    patterns = checker._ignored(ROOT)
    for path in (".env", ".venv/bin/python", "gateway/__pycache__/app.pyc", "web/node_modules/x"):
        assert checker._is_ignored(path, patterns), path
    for path in ("requirements.txt", "gateway/app.py", "infra/settings.py"):
        assert not checker._is_ignored(path, patterns), path


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    if not port_open("127.0.0.1", 5432) or not port_open("127.0.0.1", 6379):
        missing_service("PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379")
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/check_image.py"), "--no-docker", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_the_image_installs_from_the_lock_migrates_and_answers_readyz() -> None:
    result = _check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answered 200" in result.stdout


@pytest.mark.slow
def test_an_image_missing_a_package_fails_the_check(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY infra infra\n" in dockerfile
    variant = tmp_path / "Dockerfile"
    variant.write_text(dockerfile.replace("COPY infra infra\n", ""))
    result = _check("--dockerfile", str(variant), "--context", str(ROOT))
    assert result.returncode == 1
    assert "No module named 'infra'" in result.stderr
