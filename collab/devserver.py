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

from collab import startup
from infra.settings import Settings


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


async def run_dev(
    settings: Settings,
    *,
    host: str,
    port: int,
    redis_port: int,
    smtp_port: int,
    data_dir: Path,
    paas_sim_port: int | None = None,
) -> None:
    """`settings` come from the environment and `.env`; only what they leave unset is filled
    in (REDIS_URL: embedded Redis; SMTP_*: the mail catcher; PUBLIC_URL: this server)."""
    from gateway import mailcatcher
    from infra.embedded import start_redis

    given = settings.model_fields_set
    if not _port_free(host, port):
        startup.refuse(f"dev: {host}:{port} is already in use; pass --port")
    await startup.ensure_database(settings.DATABASE_URL)
    overrides: dict[str, str] = {"COLLAB_DATA_DIR": str(data_dir)}
    if "ENVIRONMENT" not in given:
        overrides["ENVIRONMENT"] = "development"
    redis_server = None
    if "REDIS_URL" in given:
        await startup.ensure_redis(settings.redis_url)
    else:
        redis_port = _free_port("127.0.0.1", redis_port, "the embedded Redis")
        redis_server, overrides["REDIS_URL"] = start_redis(data_dir / "redis", redis_port)
    catcher = None
    if "SMTP_HOST" not in given:  # no real SMTP configured: catch mail locally
        smtp_port = _free_port("127.0.0.1", smtp_port, "the mail catcher")
        overrides.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_TLS="false")
        catcher = await mailcatcher.start(mailcatcher.mail_dir(data_dir), "127.0.0.1", smtp_port)
    if "PUBLIC_URL" not in given:
        overrides["PUBLIC_URL"] = f"http://{host}:{port}"
    sim_server = None
    if paas_sim_port is not None and "PAAS_BACKEND" not in given:
        from collab import paas_sim

        paas_sim_port = _free_port("127.0.0.1", paas_sim_port, "the platform simulator")
        token = settings.PAAS_TOKEN or "dev-paas-token"
        overrides.update(PAAS_BACKEND="http", PAAS_URL=f"http://127.0.0.1:{paas_sim_port}",
                         PAAS_TOKEN=token)  # fmt: skip
        sim_server = paas_sim.embedded(token, paas_sim_port)
    # The environment too, for anything in this process that reads the settings afresh.
    os.environ.update(overrides)
    from domain import migrations
    from infra.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    await migrations.apply(settings.DATABASE_URL)

    from gateway.app import create_app
    from gateway.server import forwarded_options
    from workers.settings import worker

    config = uvicorn.Config(create_app(settings), host=host, port=port,
                            **forwarded_options(settings.TRUSTED_PROXIES))  # fmt: skip
    server = uvicorn.Server(config)
    arq_worker = worker(settings)
    built = (settings.dashboard_dir / "index.html").is_file()
    print(f"collab dev: dashboard at http://{host}:{port}/app"
          + ("" if built else "  (not built yet: ./scripts/build-dashboard.sh)"))  # fmt: skip
    print(
        f"collab dev: GraphiQL at http://{host}:{port}/graphql  (Redis "
        f"{startup.redact(settings.redis_url)}, links in emails use {settings.public_url})"
    )
    if catcher is not None:
        print(f"collab dev: mail caught on 127.0.0.1:{smtp_port}, read it at "
              f"http://{host}:{port}/dev/mail (files in {mailcatcher.mail_dir(data_dir)})")  # fmt: skip
    sim_task = None
    if sim_server is not None:
        sim_task = asyncio.create_task(sim_server.serve())
        print(f"collab dev: platform simulator at {settings.PAAS_URL} (faults: POST "
              f"{settings.PAAS_URL}/_sim/faults; link an owner with platformLinkAccount)")  # fmt: skip
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
        if sim_server is not None and sim_task is not None:
            sim_server.should_exit = True
            await asyncio.gather(sim_task, return_exceptions=True)
        await asyncio.gather(worker_task, return_exceptions=True)
        if catcher is not None:
            catcher.close()
        if redis_server is not None:
            redis_server.shutdown()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
