"""`collab dev`: one process running the gateway, a worker, Redis and a mail catcher."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import uvicorn


async def run_dev(*, host: str, port: int, redis_port: int, smtp_port: int, data_dir: Path) -> None:
    from collab.embedded import start_redis

    redis_server, redis_url = start_redis(data_dir / "redis", redis_port)
    os.environ.setdefault("ENVIRONMENT", "development")
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or redis_url
    os.environ.setdefault("SMTP_HOST", "127.0.0.1")
    os.environ.setdefault("SMTP_PORT", str(smtp_port))
    os.environ.setdefault("SMTP_TLS", "false")
    os.environ.setdefault("PUBLIC_URL", f"http://{host}:{port}")

    from collab import migrations
    from collab.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    await migrations.apply(settings.DATABASE_URL)

    from gateway.app import create_app
    from workers.settings import worker

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port))
    arq_worker = worker()
    print(f"collab dev: GraphiQL at http://{host}:{port}/graphql  (Redis {redis_url})")
    try:
        await asyncio.gather(server.serve(), arq_worker.async_run())
    finally:
        await arq_worker.close()
        redis_server.shutdown()
