"""Configuration read from ``WILLOW_*`` settings.

The settings come from one place for every way Willow is started — ``python app.py``,
``flask --app app …`` and ``waitress-serve`` all build the app with ``create_app``, which
reads this module — so a CLI command in a second terminal uses the database the server
uses. They are, in order of precedence:

1. environment variables (``WILLOW_DATABASE_URL=…``), for containers and service managers;
2. the settings file ``instance/willow.env`` (dotenv syntax, one ``WILLOW_NAME=value`` a
   line, ``#`` comments), which needs no shell syntax at all, so it reads the same for
   bash, cmd.exe and PowerShell users; ``WILLOW_SETTINGS_FILE`` names another file;
3. the defaults below.

This module imports nothing from ``willow`` so that the factory, the CLI and the tests can
all read it. Secrets never have a default here; a missing ``WILLOW_SECRET_KEY`` is
generated once by the factory and kept in the instance folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent
#: The instance folder create_app uses; the settings file lives in it.
INSTANCE = ROOT / "instance"
SETTINGS_FILE = INSTANCE / "willow.env"
PREFIX = "WILLOW_"


@dataclass(frozen=True)
class Settings:
    """The ``WILLOW_*`` values in force and where each came from."""

    values: dict[str, str] = field(default_factory=dict)
    #: name → "environment" or the settings file's path
    sources: dict[str, str] = field(default_factory=dict)
    #: The settings file that was looked for, and whether it exists.
    file: Path = SETTINGS_FILE
    file_found: bool = False

    def get(self, name: str) -> str | None:
        raw = self.values.get(name, "").strip()
        return raw or None

    def source(self, name: str) -> str | None:
        return self.sources.get(name) if self.get(name) is not None else None


def read_settings(
    environ: Mapping[str, str] | None = None, file: Path | None = None
) -> Settings:
    """The settings file's ``WILLOW_*`` values, overridden by the environment's."""
    environ = os.environ if environ is None else environ
    if file is None:
        named = environ.get("WILLOW_SETTINGS_FILE", "").strip()
        file = Path(named) if named else SETTINGS_FILE
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    found = file.is_file()
    if found:
        for name, value in dotenv_values(file, encoding="utf-8-sig").items():
            # utf-8-sig: Notepad on older Windows saves a byte-order mark.
            if name.startswith(PREFIX) and value is not None:
                values[name] = value
                sources[name] = str(file)
    for name, value in environ.items():
        if name.startswith(PREFIX) and name != "WILLOW_SETTINGS_FILE" and value.strip():
            values[name] = value
            sources[name] = "environment"
    return Settings(values, sources, file, found)


def _int(settings: Settings, name: str, default: int) -> int:
    raw = settings.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        where = settings.sources.get(name, "the environment")
        raise SystemExit(f"{name} must be a whole number, got {raw!r} (from {where})") from None


def _optional_int(settings: Settings, name: str) -> int | None:
    return _int(settings, name, 0) if settings.get(name) is not None else None


def _bool(settings: Settings, name: str, default: bool) -> bool:
    raw = settings.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be 1 or 0 (true/false), got {raw!r}")


def _optional_bool(settings: Settings, name: str) -> bool | None:
    return _bool(settings, name, False) if settings.get(name) is not None else None


SETTINGS = read_settings()


class Config:
    """Production defaults; every value may be overridden by a setting (see above)."""

    TESTING = False
    #: Where the WILLOW_* values came from (``flask --app app check`` reports it).
    WILLOW_SETTINGS = SETTINGS
    #: None means "SQLite file in the instance folder" (resolved by the factory).
    SQLALCHEMY_DATABASE_URI = SETTINGS.get("WILLOW_DATABASE_URL")
    SECRET_KEY = SETTINGS.get("WILLOW_SECRET_KEY")
    WILLOW_HOST = SETTINGS.get("WILLOW_HOST") or "127.0.0.1"
    WILLOW_PORT = _int(SETTINGS, "WILLOW_PORT", 8000)
    WILLOW_THREADS = _int(SETTINGS, "WILLOW_THREADS", 8)
    #: /scim requests that run at once (the others wait their turn; 0: no limit). Unset:
    #: 1 on SQLite, no limit on PostgreSQL (willow/server/request_gate.py says why).
    WILLOW_SCIM_CONCURRENCY = _optional_int(SETTINGS, "WILLOW_SCIM_CONCURRENCY")
    #: External base URL (e.g. https://app.withwillow.ai) for meta.location behind a proxy.
    WILLOW_PUBLIC_URL = SETTINGS.get("WILLOW_PUBLIC_URL")
    #: Addresses or networks (comma list, ``*`` for any) of the reverse proxy whose
    #: X-Forwarded-For/Proto/Host/Port are trusted (willow/server/middleware.py).
    WILLOW_TRUSTED_PROXY = SETTINGS.get("WILLOW_TRUSTED_PROXY")
    #: Host names requests may be addressed to (comma list); unset: any when
    #: WILLOW_PUBLIC_URL is set, else the local names only (willow/server/hosts.py).
    WILLOW_ALLOWED_HOSTS = SETTINGS.get("WILLOW_ALLOWED_HOSTS")
    #: Largest SCIM request body accepted, in bytes (larger → 413).
    MAX_CONTENT_LENGTH = _int(SETTINGS, "WILLOW_MAX_BODY_BYTES", 1024 * 1024)
    #: Largest page a SCIM list returns (ServiceProviderConfig filter.maxResults).
    WILLOW_SCIM_MAX_RESULTS = _int(SETTINGS, "WILLOW_SCIM_MAX_RESULTS", 1000)
    #: Seconds a SCIM list cursor stays valid between page requests (RFC 9865
    #: cursorTimeout; docs/pagination.md).
    WILLOW_CURSOR_TIMEOUT = _int(SETTINGS, "WILLOW_CURSOR_TIMEOUT", 600)
    #: Documentation link advertised in ServiceProviderConfig.
    WILLOW_DOCUMENTATION_URL = (
        SETTINGS.get("WILLOW_DOCUMENTATION_URL")
        or "https://docs.withwillow.ai/docs/admin/sso-and-auth/scim-provisioning"
    )
    #: Request log: days kept, and the largest body stored (bigger ones are truncated).
    WILLOW_LOG_RETENTION_DAYS = _int(SETTINGS, "WILLOW_LOG_RETENTION_DAYS", 90)
    WILLOW_LOG_BODY_MAX_BYTES = _int(SETTINGS, "WILLOW_LOG_BODY_MAX_BYTES", 64 * 1024)
    #: Size budget of the request log in MB (0: none): past it the oldest entries are pruned.
    WILLOW_LOG_MAX_MB = _int(SETTINGS, "WILLOW_LOG_MAX_MB", 1024)
    #: Seconds between background prunes of the request log (0 disables the thread).
    WILLOW_LOG_PRUNE_INTERVAL = _int(SETTINGS, "WILLOW_LOG_PRUNE_INTERVAL", 3600)
    #: Days provisioning events are kept (willow/events); pruned on the log's interval.
    WILLOW_EVENT_RETENTION_DAYS = _int(SETTINGS, "WILLOW_EVENT_RETENTION_DAYS", 90)
    #: Log rows waiting for the background writer; when it is full, requests wait for room.
    WILLOW_LOG_QUEUE_MAX_ROWS = _int(SETTINGS, "WILLOW_LOG_QUEUE_MAX_ROWS", 1000)
    #: Seconds ``python app.py`` waits for an unreachable database before it gives up.
    WILLOW_DB_WAIT_SECONDS = _int(SETTINGS, "WILLOW_DB_WAIT_SECONDS", 0)
    #: One line per HTTP request on standard output (0 turns it off).
    WILLOW_ACCESS_LOG = _bool(SETTINGS, "WILLOW_ACCESS_LOG", True)
    #: Failed bearer authentications one client address may make per minute before /scim
    #: answers 429 (0: no limit); a valid token is never refused by it.
    WILLOW_AUTH_FAILURE_LIMIT = _int(SETTINGS, "WILLOW_AUTH_FAILURE_LIMIT", 30)
    #: SCIM requests one API token may make per minute, per app process (0: no limit).
    WILLOW_TOKEN_RATE_LIMIT = _int(SETTINGS, "WILLOW_TOKEN_RATE_LIMIT", 0)
    #: Console sign-in backoff (willow/console/sign_in_throttle.py): failures allowed from one
    #: address at one email, and from one address at any, before each further attempt
    #: waits 1, 2, 4, … seconds, up to the last setting (0: no waiting).
    WILLOW_SIGN_IN_ACCOUNT_FAILURES = _int(SETTINGS, "WILLOW_SIGN_IN_ACCOUNT_FAILURES", 5)
    WILLOW_SIGN_IN_ADDRESS_FAILURES = _int(SETTINGS, "WILLOW_SIGN_IN_ADDRESS_FAILURES", 20)
    WILLOW_SIGN_IN_MAX_DELAY_SECONDS = _int(SETTINGS, "WILLOW_SIGN_IN_MAX_DELAY_SECONDS", 900)
    #: Console sessions end after this many minutes without a request, and at the latest
    #: this many hours after sign-in.
    WILLOW_SESSION_IDLE_MINUTES = _int(SETTINGS, "WILLOW_SESSION_IDLE_MINUTES", 30)
    WILLOW_SESSION_MAX_HOURS = _int(SETTINGS, "WILLOW_SESSION_MAX_HOURS", 12)
    #: SSO identity providers on private or loopback addresses (an on-prem IdP on the
    #: internal network). Unset: allowed while there is one organization, refused once
    #: there are several (willow/sso/network.py). Link-local (metadata) is always refused.
    WILLOW_SSO_ALLOW_PRIVATE = _optional_bool(SETTINGS, "WILLOW_SSO_ALLOW_PRIVATE")
    #: An SSO identity provider over plain http:// on this machine (development, tests).
    WILLOW_SSO_ALLOW_HTTP_LOOPBACK = _bool(SETTINGS, "WILLOW_SSO_ALLOW_HTTP_LOOPBACK", False)
    #: Not WILLOW_* settings but callables an app may be given (the tests pass fakes, as
    #: their network is loopback only): ``(host) -> [addresses]`` for the SSO connection
    #: checks, ``(name) -> [TXT strings]`` for domain verification. None: DNS.
    WILLOW_SSO_ADDRESS_RESOLVER = None
    WILLOW_SSO_TXT_RESOLVER = None
    #: Webhooks (willow/webhooks): refuse loopback, private and shared target addresses
    #: (the SaaS); link-local and cloud metadata addresses are refused in any case.
    WILLOW_WEBHOOK_PUBLIC_ONLY = _bool(SETTINGS, "WILLOW_WEBHOOK_PUBLIC_ONLY", False)
    #: Delivery threads per app process (0: this process delivers nothing).
    WILLOW_WEBHOOK_THREADS = _int(SETTINGS, "WILLOW_WEBHOOK_THREADS", 2)
    #: Seconds between the delivery threads' looks for work they were not woken for.
    WILLOW_WEBHOOK_POLL_SECONDS = _int(SETTINGS, "WILLOW_WEBHOOK_POLL_SECONDS", 1)
    #: Seconds a delivery thread's claim on an endpoint lasts unless renewed: after a crash
    #: another thread or server takes the endpoint over this long after.
    WILLOW_WEBHOOK_LEASE_SECONDS = _int(SETTINGS, "WILLOW_WEBHOOK_LEASE_SECONDS", 45)
    #: Hours a rotated-out signing secret still signs deliveries, beside the new one.
    WILLOW_WEBHOOK_SECRET_OVERLAP_HOURS = _int(SETTINGS, "WILLOW_WEBHOOK_SECRET_OVERLAP_HOURS", 24)
    #: ``(host) -> [addresses]`` for the webhook address checks (tests); None: DNS.
    WILLOW_WEBHOOK_ADDRESS_RESOLVER = None
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
    WILLOW_ACCESS_LOG = False
    # Tests that deliver start a worker of their own (tests/webhooks).
    WILLOW_WEBHOOK_THREADS = 0
    # The tests' OpenID providers run on http://localhost (tests/sso/providers.py).
    WILLOW_SSO_ALLOW_HTTP_LOOPBACK = True
