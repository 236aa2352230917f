"""Process settings, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"", "change-me", "dev-secret-key", "dev-platform-token"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    ENVIRONMENT: Literal["development", "production"] = "development"
    DATABASE_URL: str = "sqlite://collab.db"
    REDIS_URL: str | None = None
    SMTP_HOST: str = "127.0.0.1"
    SMTP_PORT: int = 1025
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_TLS: bool = False
    MAIL_FROM: str = "collab-gateway <no-reply@collab.localhost>"
    PUBLIC_URL: str = "http://127.0.0.1:8000"
    SECRET_KEY: str = "dev-secret-key"
    PLATFORM_TOKEN: str = "dev-platform-token"
    TRIAL_DAYS: int = 14
    INVITATION_TTL_HOURS: int = 7 * 24
    PASSWORD_RESET_TTL_MINUTES: int = 60
    EMAIL_VERIFICATION_TTL_HOURS: int = 48
    # Not named by the contract; safe defaults a deployment may tune.
    SESSION_TTL_HOURS: int = 7 * 24
    # Every Redis key, queue and channel starts with this: several deployments (or test
    # runs) can share one Redis.
    REDIS_KEY_PREFIX: str = "collab"
    MAX_SUBSCRIPTIONS_PER_CONNECTION: int = 5
    # The response cache for queries (gateway/response_cache.py), shared through Redis.
    RESPONSE_CACHE_ENABLED: bool = True
    RESPONSE_CACHE_TTL_SECONDS: int = 300
    RESPONSE_CACHE_MAX_BYTES: int = 64 * 1024 * 1024  # all entries together
    RESPONSE_CACHE_MAX_ENTRY_BYTES: int = 4 * 1024 * 1024  # larger answers are not kept
    # Where `collab dev` keeps its embedded Redis and caught mail (`<dir>/mail/*.eml`).
    COLLAB_DATA_DIR: str = "var"
    # The dashboard's build output (`npm run build` in web/); unset: the checkout's web/dist.
    DASHBOARD_DIR: Path | None = None
    # A running job holds its outbox row for this long and renews it every third of it;
    # a killed worker's job is taken over by another worker once its lease runs out.
    WORKER_LEASE_SECONDS: float = 5.0
    # On SIGTERM a worker stops taking jobs, finishes the email in hand, hands the rest
    # of each job back, and is cancelled after this long at the latest.
    WORKER_SHUTDOWN_GRACE_SECONDS: float = 10.0
    # True: every email's claim waits for PostgreSQL's WAL flush (safe even against a
    # database crash, about half the fan-out rate). False: a worker crash still loses
    # nothing; a PostgreSQL crash may forget the last fraction of a second of claims.
    SENT_EMAIL_DURABLE_COMMIT: bool = False
    # Operations (issue 10).
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: Literal["json", "text"] = "json"
    # How long a SQLite statement waits for another process's write lock before giving up.
    SQLITE_BUSY_TIMEOUT_MS: int = 10_000
    # SIGTERM: how long the gateway lets requests in flight finish before it stops.
    GATEWAY_SHUTDOWN_GRACE_SECONDS: float = 20.0
    # Longest pause between two reconnection attempts to a database or Redis that is down.
    RECONNECT_BACKOFF_MAX_SECONDS: float = 5.0
    # Touched by a running worker every poll; `collab worker --check` reads it.
    WORKER_HEARTBEAT_FILE: str | None = None
    # `collab worker` serves its own /metrics on this port (0: none; the gateway's
    # /metrics includes workers on the same host when PROMETHEUS_MULTIPROC_DIR is shared).
    WORKER_METRICS_PORT: int = 0

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.ENVIRONMENT == "production":
            unset = [
                n for n in ("SECRET_KEY", "PLATFORM_TOKEN") if getattr(self, n) in _PLACEHOLDERS
            ]
            if unset:
                raise ValueError(
                    f"{' and '.join(unset)} must be set to a real secret in production"
                )
        return self

    @property
    def public_url(self) -> str:
        return self.PUBLIC_URL.rstrip("/")

    @property
    def dashboard_dir(self) -> Path:
        return self.DASHBOARD_DIR or Path(__file__).resolve().parent.parent / "web" / "dist"

    @property
    def redis_url(self) -> str:
        return self.REDIS_URL or "redis://127.0.0.1:6379/0"

    @property
    def queue_name(self) -> str:
        return f"{self.REDIS_KEY_PREFIX}:queue"

    @property
    def events_channel(self) -> str:
        return f"{self.REDIS_KEY_PREFIX}:events"

    @property
    def versions_prefix(self) -> str:
        """Redis keys of the version counters (domain/versions.py names the rest)."""
        return f"{self.REDIS_KEY_PREFIX}:v:"

    @property
    def version_ttl_seconds(self) -> int:
        """A counter outlives every cache entry that read it (see RedisAfterCommit)."""
        return 2 * self.RESPONSE_CACHE_TTL_SECONDS + 60


@lru_cache
def get_settings() -> Settings:
    return Settings()
