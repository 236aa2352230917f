"""Process settings, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
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
    # Not named by the contract; safe defaults a deployment may tune.
    SESSION_TTL_HOURS: int = 7 * 24
    # Every Redis key, queue and channel starts with this: several deployments (or test
    # runs) can share one Redis.
    REDIS_KEY_PREFIX: str = "collab"
    MAX_SUBSCRIPTIONS_PER_CONNECTION: int = 5
    # Comma-separated proxy addresses whose X-Forwarded-For names the client; empty: none
    # (the peer address is the client, for rate limits and logs).
    TRUSTED_PROXIES: str = ""
    # Hostile input (README "Security"): refused before any resolver runs. The defaults
    # leave the dashboard's largest real queries (tests/security/test_query_limits.py)
    # at least three times below each
    # limit (its sharedWithMe tree costs about 32,000).
    MAX_BODY_BYTES: int = 100_000
    MAX_QUERY_TOKENS: int = 3_000
    MAX_QUERY_DEPTH: int = 10
    MAX_QUERY_ALIASES: int = 30
    MAX_QUERY_COST: int = 100_000
    QUERY_LIST_WEIGHT: int = 5
    MAX_INPUT_LIST: int = 100
    MAX_INPUT_STRING: int = 10_000
    REQUEST_TIMEOUT_SECONDS: float = 15.0
    WS_CONNECTION_INIT_TIMEOUT_SECONDS: float = 10.0
    # Rate limits in the `limits` notation ("N/period", ";" between several).
    # Failed log-ins: one address guessing one email is stopped early; the account itself
    # is refused to everyone only under a distributed attack.
    RATE_LIMIT_LOGIN_ADDRESS_EMAIL: str = "10/15 minutes"
    RATE_LIMIT_LOGIN_ADDRESS: str = "50/15 minutes"
    RATE_LIMIT_LOGIN_EMAIL: str = "100/hour"
    RATE_LIMIT_SIGNUP_ADDRESS: str = "600/minute"
    RATE_LIMIT_INVITATIONS_OWNER: str = "100/hour"
    RATE_LIMIT_TOKEN_ADDRESS: str = "30/15 minutes"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.ENVIRONMENT == "production":
            for name in ("SECRET_KEY", "PLATFORM_TOKEN"):
                if getattr(self, name) in _PLACEHOLDERS:
                    raise ValueError(f"{name} must be set to a real secret in production")
        return self

    @property
    def public_url(self) -> str:
        return self.PUBLIC_URL.rstrip("/")

    @property
    def redis_url(self) -> str:
        return self.REDIS_URL or "redis://127.0.0.1:6379/0"

    @property
    def queue_name(self) -> str:
        return f"{self.REDIS_KEY_PREFIX}:queue"

    @property
    def events_channel(self) -> str:
        return f"{self.REDIS_KEY_PREFIX}:events"


@lru_cache
def get_settings() -> Settings:
    return Settings()
