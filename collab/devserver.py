"""`collab dev`: one process running the gateway, a worker, Redis and a mail catcher.

Mail goes to the local catcher (SMTP on --smtp-port), is stored as `.eml` files under
`<data dir>/mail` and listed at `http://HOST:PORT/dev/mail`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import uvicorn


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _free_port(host: str, wanted: int, what: str) -> int:
    """The wanted port, or any free one (with a note) when something already holds it."""
    if _port_free(host, wanted):
        return wanted
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = int(sock.getsockname()[1])
    print(f"collab dev: port {wanted} is busy, {what} uses {port} instead")
    return port


async def run_dev(*, host: str, port: int, redis_port: int, smtp_port: int, data_dir: Path) -> None:
    from collab import mailcatcher
    from collab.embedded import start_redis

    if not _port_free(host, port):
        raise SystemExit(f"collab dev: {host}:{port} is already in use; pass --port")
    redis_port = _free_port("127.0.0.1", redis_port, "the embedded Redis")
    smtp_port = _free_port("127.0.0.1", smtp_port, "the mail catcher")
    redis_server = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis_server, redis_url = start_redis(data_dir / "redis", redis_port)
    os.environ.setdefault("ENVIRONMENT", "development")
    os.environ["REDIS_URL"] = redis_url
    os.environ["COLLAB_DATA_DIR"] = str(data_dir)
    catcher = None
    if "SMTP_HOST" not in os.environ:  # no real SMTP configured: catch mail locally
        os.environ["SMTP_HOST"] = "127.0.0.1"
        os.environ["SMTP_PORT"] = str(smtp_port)
        os.environ["SMTP_TLS"] = "false"
        catcher = await mailcatcher.start(mailcatcher.mail_dir(data_dir), "127.0.0.1", smtp_port)
    os.environ.setdefault("PUBLIC_URL", f"http://{host}:{port}")

    from collab import migrations
    from collab.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    await migrations.apply(settings.DATABASE_URL)

    from gateway.app import create_app
    from workers.settings import worker

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port))
    arq_worker = worker(settings)
    print(f"collab dev: GraphiQL at http://{host}:{port}/graphql  (Redis {redis_url})")
    if catcher is not None:
        print(f"collab dev: mail caught on 127.0.0.1:{smtp_port}, read it at "
              f"http://{host}:{port}/dev/mail (files in {mailcatcher.mail_dir(data_dir)})")  # fmt: skip
    worker_task = asyncio.create_task(arq_worker.async_run())
    # uvicorn stops on SIGTERM, then re-raises it under the handler that was there
    # before; Python's default would kill the process before the `finally` below, and
    # leave the embedded redis-server running on its port. This one unwinds instead.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        await server.serve()
    finally:
        await arq_worker.close()
        worker_task.cancel()
        await asyncio.gather(worker_task, return_exceptions=True)
        if catcher is not None:
            catcher.close()
        if redis_server is not None:
            redis_server.shutdown()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
