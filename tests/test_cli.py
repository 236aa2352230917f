"""The `collab` command as an operator meets it: clear one-line refusals (exit code 2, no
traceback), what `migrate` did, readable help, and `collab dev` / the quickstart honouring
the operator's settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
import typer

from collab.cli import app
from tests.utils.processes import COLLAB, REPO, free_port, stop, wait_until_up

SETTING_NAMES = ("DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SMTP_PORT", "PUBLIC_URL",
                 "ENVIRONMENT", "SECRET_KEY", "PLATFORM_TOKEN", "COLLAB_DATA_DIR")  # fmt: skip


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The caller's environment without any collab setting, plus `settings`."""
    base = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    return {**base, "COLLAB_DATA_DIR": str(tmp_path / "var"), **settings}


def _collab(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COLLAB, *args], env=_env(tmp_path, **settings), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("collab: ")
    return lines[0]


def test_start_up_refusals_are_one_line_and_exit_code_2(tmp_path: Path) -> None:
    db = f"sqlite://{tmp_path / 'cli.db'}"
    line = _refused(_collab(tmp_path, "serve", ENVIRONMENT="production", DATABASE_URL=db))
    assert "SECRET_KEY and PLATFORM_TOKEN must be set to a real secret in production" in line
    line = _refused(_collab(tmp_path, "migrate", DATABASE_URL="mysqlish://nowhere/db"))
    assert "cannot use DATABASE_URL=mysqlish://nowhere/db" in line
    line = _refused(_collab(tmp_path, "migrate",
                            DATABASE_URL=f"postgres://u:hunter2@127.0.0.1:{free_port()}/x"))  # fmt: skip
    assert "cannot use DATABASE_URL=postgres://u:***@" in line and "hunter2" not in line
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    for command in ("serve", "worker"):
        line = _refused(_collab(tmp_path, command, DATABASE_URL=db, REDIS_URL=dead_redis))
        assert f"cannot reach Redis at REDIS_URL={dead_redis}" in line
    line = _refused(_collab(tmp_path, "worker", DATABASE_URL=db,
                            REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")))  # fmt: skip
    assert "not migrated" in line and "collab migrate" in line


def test_migrate_says_what_it_applied_then_that_nothing_was_pending(tmp_path: Path) -> None:
    db = f"sqlite://{tmp_path / 'migrate.db'}"
    first = _collab(tmp_path, "migrate", DATABASE_URL=db)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("applied 0001_initial: ") and lines[0].endswith(" tables")
    assert "applied 0002_account_care: 1 table, 3 columns" in lines
    second = _collab(tmp_path, "migrate", DATABASE_URL=db)
    assert second.stdout.splitlines()[0] == "nothing to apply: the database is up to date"


def test_every_command_and_option_has_help_text(tmp_path: Path) -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    for name, command in group.commands.items():
        assert command.help, name
        for param in command.params:
            assert getattr(param, "help", None), f"collab {name} {param.name}"
    result = _collab(tmp_path, "dev", "--help")
    assert result.returncode == 0
    words = " ".join(result.stdout.split())
    assert "--redis-port" in words and "only when REDIS_URL is unset" in words
    assert "<bool>" not in words


SIGN_UP = """mutation { signUp(email: "dev-owner@collab.example", password: "long enough pw") {
  errors { code } } }"""


def test_collab_dev_honours_public_url_from_dot_env(tmp_path: Path) -> None:
    """A PUBLIC_URL in `.env` is what the emailed links use; unset settings are filled in."""
    (tmp_path / ".env").write_text("PUBLIC_URL=https://collab.public.example\n")
    port, log_path = free_port(), tmp_path / "dev.log"
    args = ["dev", "--port", str(port), "--redis-port", str(free_port()),
            "--smtp-port", str(free_port())]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*COLLAB, *args], env=_env(tmp_path), cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, log_path, timeout=40)
        r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": SIGN_UP}, timeout=30)
        assert r.json()["data"]["signUp"]["errors"] == []
        mail_dir = tmp_path / "var" / "mail"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not list(mail_dir.glob("*.eml")):
            time.sleep(0.2)
        [eml] = list(mail_dir.glob("*.eml"))
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "https://collab.public.example/account/verify-email/" in text
    finally:
        stop([proc])
    assert "links in emails use https://collab.public.example" in log_path.read_text()


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script")
def test_quickstart_takes_a_port(tmp_path: Path) -> None:
    port, log_path = free_port(), tmp_path / "quickstart.log"
    env = _env(tmp_path, DATABASE_URL=f"sqlite://{tmp_path / 'quick.db'}")
    args = ["--port", str(port), "--redis-port", str(free_port()), "--smtp-port", str(free_port())]
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(REPO / "scripts" / "quickstart.sh"), *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, log_path, timeout=120)
        graphiql = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"})
        assert graphiql.status_code == 200
    finally:
        stop([proc])
    assert f"GraphiQL at http://127.0.0.1:{port}/graphql" in log_path.read_text()
