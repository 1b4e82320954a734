"""Configuration read from ``WILLOW_*`` environment variables.

Pure environment parsing: this module imports nothing from ``willow`` so that it can be
read by the factory, the CLI and the tests alike. Secrets never have a default here; a
missing ``WILLOW_SECRET_KEY`` is generated once by the factory and kept in the instance
folder.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def _str(name: str, default: str | None = None) -> str | None:
    raw = os.environ.get(name, "").strip()
    return raw or default


class Config:
    """Production defaults; every value may be overridden from the environment."""

    TESTING = False
    #: None means "SQLite file in the instance folder" (resolved by the factory).
    SQLALCHEMY_DATABASE_URI = _str("WILLOW_DATABASE_URL")
    SECRET_KEY = _str("WILLOW_SECRET_KEY")
    WILLOW_HOST = _str("WILLOW_HOST", "127.0.0.1")
    WILLOW_PORT = _int("WILLOW_PORT", 8000)
    WILLOW_THREADS = _int("WILLOW_THREADS", 8)
    #: External base URL (e.g. https://app.withwillow.ai) for meta.location behind a proxy.
    WILLOW_PUBLIC_URL = _str("WILLOW_PUBLIC_URL")
    #: Address of the reverse proxy whose X-Forwarded-* headers are trusted.
    WILLOW_TRUSTED_PROXY = _str("WILLOW_TRUSTED_PROXY")
    #: Largest SCIM request body accepted, in bytes (larger → 413).
    MAX_CONTENT_LENGTH = _int("WILLOW_MAX_BODY_BYTES", 1024 * 1024)
    #: Largest page a SCIM list returns (ServiceProviderConfig filter.maxResults).
    WILLOW_SCIM_MAX_RESULTS = _int("WILLOW_SCIM_MAX_RESULTS", 1000)
    #: Documentation link advertised in ServiceProviderConfig.
    WILLOW_DOCUMENTATION_URL = _str(
        "WILLOW_DOCUMENTATION_URL",
        "https://docs.withwillow.ai/docs/admin/sso-and-auth/scim-provisioning",
    )
    #: Request log: days kept, and the largest body stored (bigger ones are truncated).
    WILLOW_LOG_RETENTION_DAYS = _int("WILLOW_LOG_RETENTION_DAYS", 90)
    WILLOW_LOG_BODY_MAX_BYTES = _int("WILLOW_LOG_BODY_MAX_BYTES", 64 * 1024)
    #: Seconds between background prunes of the request log (0 disables the thread).
    WILLOW_LOG_PRUNE_INTERVAL = _int("WILLOW_LOG_PRUNE_INTERVAL", 3600)
    #: Log rows waiting for the background writer; when it is full, requests wait for room.
    WILLOW_LOG_QUEUE_MAX_ROWS = _int("WILLOW_LOG_QUEUE_MAX_ROWS", 1000)
    #: Failed bearer authentications one client address may make per minute before /scim
    #: answers 429 (0: no limit); a valid token is never refused by it.
    WILLOW_AUTH_FAILURE_LIMIT = _int("WILLOW_AUTH_FAILURE_LIMIT", 30)
    #: SCIM requests one API token may make per minute, per app process (0: no limit).
    WILLOW_TOKEN_RATE_LIMIT = _int("WILLOW_TOKEN_RATE_LIMIT", 0)
    #: Console sessions end after this many minutes without a request, and at the latest
    #: this many hours after sign-in.
    WILLOW_SESSION_IDLE_MINUTES = _int("WILLOW_SESSION_IDLE_MINUTES", 30)
    WILLOW_SESSION_MAX_HOURS = _int("WILLOW_SESSION_MAX_HOURS", 12)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None


class TestingConfig(Config):
    """Used by the test suite; the database URL is set per test by the fixtures."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"
    WTF_CSRF_ENABLED = False
    WILLOW_LOG_PRUNE_INTERVAL = 0
