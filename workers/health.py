"""A worker's heartbeat file, for container health checks (`collab worker --check`).

The poll loop touches it at most once a second, during outages too (the worker is alive
and retrying); a file older than `STALE_AFTER` means the loop is stuck or gone.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

STALE_AFTER = 30.0
_last_beat = 0.0


def beat(path: str | None) -> None:
    global _last_beat
    now = time.monotonic()
    if not path or now - _last_beat < 1.0:
        return
    _last_beat = now
    with contextlib.suppress(OSError):  # a read-only directory must not stop the worker
        Path(path).touch()


def heartbeat_fresh(path: str | None, stale_after: float = STALE_AFTER) -> bool:
    if not path:
        return False
    try:
        return time.time() - Path(path).stat().st_mtime < stale_after
    except OSError:
        return False
