"""`--profile`: py-spy samples the server while a scenario runs (no change to the server).

Writes collapsed stacks (`<scenario>-<size>.txt`, the format flamegraph.pl and speedscope
read) and keeps a summary in results.json: the functions with the most samples on top of
the stack (self) and anywhere on it (inclusive).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_LINE = re.compile(r":\d+\)$")


class Profiler:
    """py-spy attached to one process until stopped (non-blocking: the server is not paused)."""

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        beside = Path(sys.executable).parent / "py-spy"  # in the venv, not always on PATH
        spy = str(beside) if beside.exists() else shutil.which("py-spy")
        if spy is None:
            raise SystemExit("bench: --profile needs py-spy (pip install -e '.[bench]')")
        output.parent.mkdir(parents=True, exist_ok=True)
        self.output = output
        self.process = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
             "--format", "raw", "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def stop(self) -> dict[str, Any]:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self.output.exists():
            stderr = self.process.stderr.read().decode() if self.process.stderr else ""
            return {"error": stderr.strip()[-500:] or "py-spy wrote nothing"}
        return summarize(self.output) | {"stacks": str(self.output)}


def _function(frame: str) -> str:
    """`name (path.py:12)` -> `name (path.py)`: one entry per function, not per line."""
    return _LINE.sub(")", frame.strip())


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_function(f) for f in stack.split(";")]
        if not frames:
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            anywhere[frame] += samples

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"samples": total, "self_percent": share(own), "inclusive_percent": share(anywhere)}
