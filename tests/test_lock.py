"""The lock files: every declared dependency pinned with hashes, one version per package.

After `scripts/lock.sh` these say whether the locks still match pyproject.toml; the
private-API bounds make an untested release of those libraries a deliberate step.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PRIVATE_API = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "tortoise-orm",
    "arq",
    "redis",
    "aiosmtplib",
)


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            assert "--hash=sha256:" in block, f"{lock}: {match[1]} has no hash"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _declared(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _unsatisfied(requirements: list[Requirement], pins: dict[str, str]) -> list[str]:
    return [
        str(req)
        for req in requirements
        if not req.specifier.contains(pins.get(canonicalize_name(req.name), "0"), prereleases=True)
    ]


def test_the_runtime_lock_pins_every_runtime_dependency_within_its_bounds() -> None:
    assert _unsatisfied(_declared(), _pins("requirements.txt")) == [], "run scripts/lock.sh"


def test_the_test_lock_pins_the_test_and_bench_extras_too() -> None:
    pins = _pins("requirements-test.txt")
    assert _unsatisfied(_declared("test", "bench"), pins) == [], "run scripts/lock.sh"


def test_both_locks_agree_on_every_version() -> None:
    runtime, test = _pins("requirements.txt"), _pins("requirements-test.txt")
    assert {name: (version, test.get(name)) for name, version in runtime.items()} == {
        name: (version, version) for name, version in runtime.items()
    }


def test_every_library_whose_private_api_we_use_has_an_upper_bound() -> None:
    declared = {canonicalize_name(req.name): req for req in _declared()}
    for name in PRIVATE_API:
        specifier = declared[canonicalize_name(name)].specifier
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in specifier), name


def test_the_environment_runs_on_the_locked_versions() -> None:
    pins = _pins("requirements-test.txt")
    wrong = {}
    for name in PRIVATE_API:
        installed = metadata.version(name)
        if installed != pins[canonicalize_name(name)]:
            wrong[name] = (installed, pins[canonicalize_name(name)])
    assert wrong == {}, "reinstall from the lock: ./scripts/venv.sh --test"
