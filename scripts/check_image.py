"""Prove that what the Dockerfile's final stage builds can start, without a Docker daemon.

The final stage is read from the Dockerfile itself (never a copy of its lists): its COPY
instructions are carried out into a temporary directory outside the tree (honouring
.dockerignore), its RUN instructions run there with a fresh virtual environment first on
PATH, and then `collab --help`, `collab schema`, `collab migrate` and the stage's CMD (on a
free loopback port) run against a fresh PostgreSQL database until `/readyz` answers 200.
Where a Docker daemon answers, `docker build` and `docker run` do the same for real.
Exit 0 when everything worked; 1 with the failing step's output otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("CHECK_IMAGE_PG", "postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("CHECK_IMAGE_REDIS_URL", "redis://127.0.0.1:6379/0")


class CheckFailed(Exception):
    """A step of the check failed; the message says which and shows its output."""


@dataclass
class Copy:
    sources: list[str]
    dest: str
    from_stage: str | None


@dataclass
class Stage:
    workdir: str = "/"
    copies: list[Copy] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def final_stage(dockerfile: Path) -> Stage:
    """The last stage of a Dockerfile: what the image that runs is made of."""
    stage = Stage()
    for keyword, rest in _instructions(dockerfile.read_text()):
        if keyword == "FROM":
            stage = Stage()
        elif keyword == "WORKDIR":
            stage.workdir = str(Path(stage.workdir) / rest)
        elif keyword == "COPY":
            words = shlex.split(rest)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            stage.copies.append(Copy(paths[:-1], paths[-1], from_stage))
        elif keyword == "RUN":
            stage.runs.append(rest)
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                stage.env[name] = value
        elif keyword == "CMD":
            stage.cmd = json.loads(rest)
    return stage


def copied_directories(dockerfile: Path) -> list[str]:
    """Top-level directories the final stage copies from the build context."""
    stage = final_stage(dockerfile)
    return [
        source.rstrip("/")
        for copy in stage.copies
        if copy.from_stage is None
        for source in copy.sources
        if (dockerfile.parent / source).is_dir()
    ]


def _ignored(context: Path) -> list[str]:
    path = context / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def _is_ignored(relative: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, bare + "/*"):
            return True
        if pattern.startswith("**/") and any(
            fnmatch.fnmatch(part, bare) for part in relative.split("/")
        ):
            return True
        if fnmatch.fnmatch(relative.split("/")[0], pattern):
            return True
    return False


def lay_out(stage: Stage, context: Path, app: Path) -> None:
    """Carry out the stage's COPY instructions from the build context into `app`."""
    patterns = _ignored(context)
    for copy in stage.copies:
        if copy.from_stage is not None:
            print(f"check-image: skipped COPY --from={copy.from_stage} (a build stage)")
            continue
        dest = app / Path(stage.workdir, copy.dest).relative_to(stage.workdir)
        for source in copy.sources:
            origin = context / source
            if not origin.exists():
                raise CheckFailed(f"COPY {source}: not in the build context")
            files = [origin] if origin.is_file() else sorted(origin.rglob("*"))
            for file in files:
                relative = file.relative_to(context).as_posix()
                if not file.is_file() or _is_ignored(relative, patterns):
                    continue
                if origin.is_file():
                    target = dest / file.name if copy.dest.endswith("/") else dest
                else:
                    target = dest / file.relative_to(origin)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)


def _run(argv: list[str] | str, env: dict[str, str], cwd: Path, what: str) -> str:
    result = subprocess.run(
        argv, env=env, cwd=cwd, shell=isinstance(argv, str), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise CheckFailed(f"{what} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    print(f"check-image: ok: {what}")
    return result.stdout


def _with_pip_cache(run: list[str] | str) -> list[str] | str:
    if isinstance(run, str):
        return run.replace(" --no-cache-dir", "")
    return [part for part in run if part != "--no-cache-dir"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _psql(sql: str) -> None:
    user, _, hostport = PG_ADMIN.partition("@")
    host, _, port = hostport.partition(":")
    subprocess.run(
        ["psql", "-h", host, "-p", port or "5432", "-U", user, "-d", "postgres", "-qc", sql],
        check=True,
        capture_output=True,
    )


def _wait_ready(url: str, server: subprocess.Popen[bytes], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"the CMD exited {server.returncode} before /readyz answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    print(f"check-image: ok: {url} answered 200")
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise CheckFailed(f"{url} did not answer 200 within {within:.0f} s")


def _serve_argv(cmd: list[str], port: int) -> list[str]:
    """The stage's CMD, listening on loopback and a free port instead."""
    argv = list(cmd)
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return argv


def check_without_docker(dockerfile: Path, context: Path) -> None:
    stage = final_stage(dockerfile)
    with tempfile.TemporaryDirectory(prefix="collab-image-") as tmp:
        app = Path(tmp) / "app"
        app.mkdir()
        lay_out(stage, context, app)
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("VIRTUAL_ENV", "PYTHONPATH") and not key.startswith("COLLAB_")
        }
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        for name, value in stage.env.items():
            env[name] = value.replace(stage.workdir, str(app), 1)
        for run in stage.runs:
            # The same commands, but pip may reuse its download cache here: the image
            # stays lean with --no-cache-dir, the check need not download everything twice.
            _run(_with_pip_cache(run), env, app, f"RUN {run}")
        _run(["collab", "--help"], env, app, "collab --help")
        if "type Query" not in _run(["collab", "schema"], env, app, "collab schema"):
            raise CheckFailed("collab schema printed no `type Query`")
        database = f"collab_image_{secrets.token_hex(4)}"
        _psql(f'CREATE DATABASE "{database}"')
        try:
            env |= {
                "DATABASE_URL": f"postgres://{PG_ADMIN}/{database}",
                "REDIS_URL": REDIS_URL,
                "REDIS_KEY_PREFIX": database,
                "SECRET_KEY": secrets.token_hex(32),
                "PLATFORM_TOKEN": secrets.token_hex(32),
            }
            _run(["collab", "migrate"], env, app, "collab migrate")
            port = _free_port()
            argv = _serve_argv(stage.cmd, port)
            server = subprocess.Popen(argv, env=env, cwd=app)
            try:
                _wait_ready(f"http://127.0.0.1:{port}/readyz", server)
            finally:
                server.terminate()
                server.wait(30)
        finally:
            _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def check_with_docker(dockerfile: Path, context: Path) -> None:
    tag = f"collab-gateway-check:{secrets.token_hex(4)}"
    env = dict(os.environ)
    cwd = context
    _run(["docker", "build", "-f", str(dockerfile), "-t", tag, str(context)], env, cwd, "build")
    try:
        run = ["docker", "run", "--rm", "--network", "host"]
        _run([*run, tag, "collab", "--help"], env, cwd, "collab --help")
        _run([*run, tag, "collab", "schema"], env, cwd, "collab schema")
        database = f"collab_image_{secrets.token_hex(4)}"
        _psql(f'CREATE DATABASE "{database}"')
        port = _free_port()
        settings = {
            "DATABASE_URL": f"postgres://{PG_ADMIN}/{database}",
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": database,
            "SECRET_KEY": secrets.token_hex(32),
            "PLATFORM_TOKEN": secrets.token_hex(32),
        }
        flags = [item for key, value in settings.items() for item in ("-e", f"{key}={value}")]
        try:
            _run([*run, *flags, tag, "collab", "migrate"], env, cwd, "collab migrate")
            name = f"collab-check-{secrets.token_hex(4)}"
            server = subprocess.Popen(
                [*run, "--name", name, *flags, tag, *_serve_argv(final_stage(dockerfile).cmd, port)]
            )
            try:
                _wait_ready(f"http://127.0.0.1:{port}/readyz", server)
            finally:
                subprocess.run(["docker", "stop", name], capture_output=True)
                server.wait(30)
        finally:
            _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "Dockerfile")
    parser.add_argument("--context", type=Path, default=ROOT, help="the build context")
    parser.add_argument("--no-docker", action="store_true", help="never use a Docker daemon")
    args = parser.parse_args(argv)
    try:
        if not args.no_docker and docker_answers():
            check_with_docker(args.dockerfile.resolve(), args.context.resolve())
        else:
            check_without_docker(args.dockerfile.resolve(), args.context.resolve())
    except CheckFailed as failure:
        print(f"check-image: FAILED: {failure}", file=sys.stderr)
        return 1
    print("check-image: the image's contents start and answer /readyz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
