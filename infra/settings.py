"""Process settings, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"", "change-me", "dev-secret-key", "dev-platform-token"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    ENVIRONMENT: Literal["development", "production"] = "development"
    DATABASE_URL: str = "sqlite://collab.db"
    REDIS_URL: str | None = None
    # Redis, for every client of a process (infra.redis_options builds them all): seconds
    # to connect, to wait for a reply (rate-limit checks wait less: a request never waits
    # on them), and between health checks of an idle connection (the live-event
    # subscription has no reply time-out: an idle subscription is normal).
    REDIS_CONNECT_TIMEOUT: float = Field(default=1.0, gt=0)
    REDIS_COMMAND_TIMEOUT: float = Field(default=2.0, gt=0)
    REDIS_RATE_LIMIT_TIMEOUT: float = Field(default=0.5, gt=0)
    REDIS_HEALTH_CHECK_SECONDS: int = Field(default=30, ge=0)
    # The cache hit path's own pipelined connection (gateway.redis_pipe); off: redis-py.
    REDIS_PIPELINED_HIT_PATH: bool = True
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
    # Reminders (workers/reminders.py): a pending invitation is reminded once this long
    # after it was sent (or re-sent); a trial collaborator and its owners are warned once
    # this many days before the trial ends. 0 turns either off.
    INVITATION_REMINDER_HOURS: int = Field(default=72, ge=0)
    TRIAL_WARNING_DAYS: int = Field(default=3, ge=0)
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
    # Each gateway keeps copies of the answers it served, so that a hit whose entry is
    # unchanged fetches its ETag from Redis, not its bytes (0: always the bytes).
    RESPONSE_CACHE_LOCAL_BYTES: int = 32 * 1024 * 1024
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
    # True: when the SMTP server advertises PIPELINING (RFC 2920), a batch sends MAIL,
    # RCPT and DATA in one write (two exchanges an email instead of four).
    SMTP_PIPELINING: bool = True
    # The garbage collector's youngest generation, in net new container objects, for the
    # gateway and worker processes (infra/collector.py); 0 keeps Python's default (700).
    GC_GEN0_THRESHOLD: int = Field(default=10_000, ge=0)
    # Comma-separated proxy addresses whose X-Forwarded-For names the client; empty: none
    # (the peer address is the client, for rate limits and logs).
    TRUSTED_PROXIES: str = ""
    # Hostile input (README "Security"): refused before any resolver runs. Every document
    # of the dashboard (web/src, tests/security/test_query_limits.py) fits: its largest,
    # "Shared with me" as a five-level group tree, costs 117,200 and is 7 deep; the
    # groups <-> environments cycle four turns deep costs 488,281 and is refused.
    MAX_BODY_BYTES: int = 100_000
    MAX_QUERY_TOKENS: int = 3_000
    MAX_QUERY_DEPTH: int = 10
    MAX_QUERY_ALIASES: int = 30
    MAX_QUERY_COST: int = 300_000
    QUERY_LIST_WEIGHT: int = 5
    # Hostile documents (docs/security.md "Hostile documents"): selections once every
    # fragment is spread, and how often one name may answer in one selection set.
    MAX_QUERY_SELECTIONS: int = Field(default=2_000, ge=1)
    MAX_REPEATED_FIELDS: int = Field(default=10, ge=1)
    # A document not validated before is validated off the event loop, for this long at most.
    VALIDATION_TIMEOUT_SECONDS: float = Field(default=1.0, gt=0)
    # Values in one answer (fields and list items, counted as it is built): past this the
    # request is refused rather than answered (a cycle of lists grows an answer fast).
    MAX_RESPONSE_VALUES: int = Field(default=100_000, ge=1)
    MAX_INPUT_LIST: int = 100
    MAX_INPUT_STRING: int = 10_000
    REQUEST_TIMEOUT_SECONDS: float = 15.0
    WS_CONNECTION_INIT_TIMEOUT_SECONDS: float = 10.0
    # Live connections (docs/security.md "Sessions and live connections"): open sockets per
    # account and per address across all gateways (a refusal closes with 4429), and how
    # often an idle socket re-checks its session when no "session ended" notice arrived
    # (a socket also re-checks before every operation and when its session expires).
    WS_MAX_SOCKETS_PER_ACCOUNT: int = Field(default=20, ge=1)
    WS_MAX_SOCKETS_PER_ADDRESS: int = Field(default=200, ge=1)
    WS_SESSION_RECHECK_SECONDS: float = Field(default=30.0, gt=0)
    # Rate limits in the `limits` notation ("N/period", ";" between several).
    # Failed log-ins: one address guessing one email is stopped early; the account itself
    # is refused to everyone only under a distributed attack.
    RATE_LIMIT_LOGIN_ADDRESS_EMAIL: str = "10/15 minutes"
    RATE_LIMIT_LOGIN_ADDRESS: str = "50/15 minutes"
    RATE_LIMIT_LOGIN_EMAIL: str = "100/hour"
    # Sign-ups hash a password (argon2, CPU-heavy): the contract's 600 a minute from one
    # address holds for a burst (an office behind one NAT), but not hour after hour.
    RATE_LIMIT_SIGNUP_ADDRESS: str = "600/minute;1200/hour"
    RATE_LIMIT_INVITATIONS_OWNER: str = "100/hour"
    RATE_LIMIT_TOKEN_ADDRESS: str = "30/15 minutes"
    # Account care: reset and verification emails go to an address nobody has proved yet;
    # account tokens (verification, password reset) presented from one address.
    # Password resets: refused (RATE_LIMITED) per address and per address and email;
    # beyond an email's budget the answer stays the same and no email leaves, except to
    # an account's own verified email, which has a budget of its own (security.md).
    RATE_LIMIT_PASSWORD_RESET_ADDRESS: str = "30/hour"
    RATE_LIMIT_PASSWORD_RESET_ADDRESS_EMAIL: str = "5/hour"
    RATE_LIMIT_PASSWORD_RESET_EMAIL: str = "5/hour"
    RATE_LIMIT_PASSWORD_RESET_VERIFIED_EMAIL: str = "50/hour"
    RATE_LIMIT_VERIFICATION_RESEND_ACCOUNT: str = "5/hour"
    RATE_LIMIT_ACCOUNT_TOKEN_ADDRESS: str = "30/15 minutes"
    # Password hashing and verification run in their own thread pool (infra/cpu_pool.py):
    # this many at once, this many more waiting; a sign-up beyond that is RATE_LIMITED.
    PASSWORD_HASH_THREADS: int = Field(default=2, ge=1)
    PASSWORD_HASH_BACKLOG: int = Field(default=16, ge=0)
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
    # The gateway's /metrics: with METRICS_TOKEN set, only for `Authorization: Bearer
    # <token>` (401 otherwise, in every mode); without it, open in development and absent
    # (404) in production. Operation names other clients send (comma-separated) that may
    # label latency metrics besides the dashboard's; any other name is labelled "other".
    METRICS_TOKEN: str | None = None
    # The gateway also serves /metrics, without a token, on this port (0: none) and
    # interface: a scraper on a private network, the public port closed to it.
    METRICS_PORT: int = 0
    METRICS_HOST: str = "127.0.0.1"
    METRICS_OPERATIONS: str = ""
    # The platform behind the gateway (CONTRACT section 6, docs/platform.md).
    PAAS_BACKEND: Literal["builtin", "http"] = "builtin"
    PAAS_URL: str = "http://127.0.0.1:8090"
    PAAS_TOKEN: str = ""
    PAAS_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    PAAS_SYNC_SECONDS: int = Field(default=300, ge=1)
    # An outage is retried with back-off for this long, then the operation FAILS.
    PAAS_RETRY_SECONDS: float = Field(default=60.0, ge=0)
    # This many outages in a row stop calls for PAAS_BREAKER_SECONDS.
    PAAS_BREAKER_THRESHOLD: int = Field(default=5, ge=1)
    PAAS_BREAKER_SECONDS: float = Field(default=30.0, ge=0)

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
    def ws_slot_lease_seconds(self) -> float:
        """A socket renews its slots every recheck; a dead gateway's slots lapse after this."""
        return 3 * self.WS_SESSION_RECHECK_SECONDS

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
