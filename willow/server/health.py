"""Is this install ready for an IdP? ``/healthz``, ``/readyz`` and ``flask --app app check``.

``/healthz`` says the process answers (a service manager restarts it when it does not),
and whether the database does; ``/readyz`` says it can serve SCIM: the database answers
and its schema is at the migrations' head (a load balancer sends no traffic until then).
``check`` reports the same and what else would break an IdP connection, in words, for an
admin at a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint
from flask import Flask
from flask import jsonify
from sqlalchemy import select
from sqlalchemy import text

from ..storage.extensions import db
from ..storage.faults import RETRY_AFTER_S
from ..storage.faults import reason
from ..storage.models import ApiToken
from ..storage.models import utcnow
from .command_line import cli_command

bp = Blueprint("health", __name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class Finding:
    """One line of ``check``: ``ok`` (fine), ``warn`` (works, but mind it) or ``fail``
    (an IdP connection would break)."""

    level: str
    subject: str
    text: str


@cache
def migration_heads() -> tuple[str, ...]:
    """The revisions the code expects (read once: they do not change while it runs)."""
    return tuple(sorted(ScriptDirectory(str(MIGRATIONS)).get_heads()))


def database_revisions() -> tuple[str, ...]:
    """The revisions the database is at; raises when it cannot be reached."""
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def readiness() -> tuple[bool, str]:
    """``(ready, why)``: the database answers and its schema is at head."""
    try:
        current = database_revisions()
    except Exception as exc:
        return False, f"database unreachable ({reason(exc)})"
    if current != migration_heads():
        return False, "database schema is not at the migrations' head"
    return True, "ready"


def check_install(app: Flask) -> list[Finding]:
    """Everything ``flask --app app check`` reports, most basic first (needs an app context)."""
    from ..storage.database import describe_database
    from ..storage.database import sqlite_database_missing

    findings = [Finding("ok", "Database", describe_database(app))]
    settings = app.config.get("WILLOW_SETTINGS")
    if settings is not None:
        found = "found" if settings.file_found else "not found (optional)"
        findings.append(Finding("ok", "Settings file", f"{settings.file}: {found}"))
    missing = sqlite_database_missing(app)
    if missing is not None:
        # Not opened: SQLite would create it, and check writes nothing.
        findings.append(
            Finding(
                "fail",
                "Database",
                f"{missing} does not exist yet: run python app.py --init (or start the server)",
            )
        )
        findings.append(_secret_key(app))
        return findings
    try:
        current = database_revisions()
    except Exception as exc:
        # One line, the driver's reason and no SQL or traceback (the URL is on the first).
        findings.append(Finding("fail", "Database", f"cannot be reached ({reason(exc)})"))
        return findings
    heads = migration_heads()
    if not current:
        findings.append(
            Finding("fail", "Migrations", f"the database is empty: run {cli_command()} db upgrade")
        )
    elif current != heads:
        findings.append(
            Finding(
                "fail",
                "Migrations",
                f"database at {', '.join(current)}, code expects {', '.join(heads)}: "
                f"run {cli_command()} db upgrade",
            )
        )
    else:
        findings.append(Finding("ok", "Migrations", f"at head ({', '.join(heads)})"))
        findings.append(_tokens())
        findings.extend(_sso())
    findings.append(_secret_key(app))
    findings.append(_public_url(app.config.get("WILLOW_PUBLIC_URL")))
    findings.append(
        _allowed_hosts(app.config.get("WILLOW_ALLOWED_HOSTS"), app.config.get("WILLOW_PUBLIC_URL"))
    )
    return findings


def _tokens() -> Finding:
    now = utcnow()
    tokens = db.session.scalars(select(ApiToken)).all()
    active = [t for t in tokens if t.status(now) == "active" and "scim" in t.scope_list]
    db.session.rollback()
    if not active:
        return Finding(
            "fail",
            "API tokens",
            "no active token with the SCIM scope: an IdP cannot sign in. Create one with "
            f'{cli_command()} token create --name "Okta SCIM Integration"',
        )
    return Finding("ok", "API tokens", f"{len(active)} active with the SCIM scope")


def _sso() -> list[Finding]:
    """Per organization, whether its provisioned users can sign in: a warning, never a
    failure, because SCIM works without SSO (willow/connection/sso_status.py)."""
    from ..connection.sso_status import sso_status
    from ..sso.models import SsoConfig
    from ..storage.models import Organization

    rows = db.session.execute(
        select(Organization.slug, SsoConfig.issuer)
        .outerjoin(
            SsoConfig,
            (SsoConfig.organization_id == Organization.id) & SsoConfig.enabled.is_(True),
        )
        .order_by(Organization.slug)
    ).all()
    db.session.rollback()
    several = len(rows) > 1
    findings = []
    for slug, issuer in rows:
        status = sso_status(issuer)
        subject = f"SSO ({slug})" if several else "SSO"
        findings.append(Finding("ok" if status.configured else "warn", subject, status.text))
    return findings


def _secret_key(app: Flask) -> Finding:
    generated = app.config.get("WILLOW_SECRET_KEY_FILE")
    if generated and not Path(generated).exists():
        return Finding(
            "warn",
            "Secret key",
            f"WILLOW_SECRET_KEY is not set: one will be generated into {generated} at the "
            "first start; set WILLOW_SECRET_KEY (the same on every server) when there are "
            "several",
        )
    if generated:
        return Finding(
            "warn",
            "Secret key",
            f"generated into {generated}: fine for one server; set WILLOW_SECRET_KEY "
            "(the same on every server) when there are several",
        )
    return Finding("ok", "Secret key", "set (WILLOW_SECRET_KEY)")


def _public_url(url: str | None) -> Finding:
    if not url:
        return Finding(
            "warn",
            "Public URL",
            "WILLOW_PUBLIC_URL is not set: resource locations use the address each request "
            "came to. Set it when a proxy or load balancer sits in front of Willow",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return Finding(
            "fail", "Public URL", f"{url!r} is not an http(s) URL such as https://willow.example.com"
        )
    if parts.path.rstrip("/").lower().endswith("/scim/v2") or parts.query or parts.fragment:
        return Finding(
            "fail",
            "Public URL",
            f"{url!r} must be the site's base URL, without /scim/v2, query or fragment "
            "(IdPs are given base URL + /scim/v2)",
        )
    return Finding("ok", "Public URL", f"{url} (SCIM base URL {url.rstrip('/')}/scim/v2)")


def _allowed_hosts(setting: str | None, public_url: str | None) -> Finding:
    """Which Host names are served (willow/server/hosts.py): a warning where absolute URLs
    would follow any Host, or where only the local names are served."""
    from .hosts import LOCAL_NAMES
    from .hosts import allowed_hosts

    allowed = allowed_hosts(setting, public_url, None)
    if allowed is None and not public_url:
        return Finding(
            "warn",
            "Host names",
            "WILLOW_ALLOWED_HOSTS is * and WILLOW_PUBLIC_URL is not set: resource locations "
            "follow whatever Host header a request carries. Set WILLOW_PUBLIC_URL",
        )
    if allowed is None:
        return Finding("ok", "Host names", "any (URLs are built from WILLOW_PUBLIC_URL)")
    if not setting:
        return Finding(
            "warn",
            "Host names",
            f"only {', '.join(LOCAL_NAMES)} (and WILLOW_HOST) are served; requests for any "
            "other name get 400, so that URLs never follow a forged Host header. Set "
            "WILLOW_PUBLIC_URL, or list the server's names in WILLOW_ALLOWED_HOSTS",
        )
    return Finding("ok", "Host names", ", ".join(allowed))


def database_status() -> tuple[bool, str]:
    """``(answers, why)``: whether a ``SELECT 1`` goes through now."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return False, reason(exc)
    return True, "ok"


@bp.get("/healthz")
def healthz():
    """Liveness: 200 while the process answers, also when the database does not (a
    restart of the process would not bring it back, and the process recovers by itself
    when it is back). The body says whether the database answers."""
    answers, why = database_status()
    if answers:
        rv = jsonify(status="ok", database="ok")
    else:
        rv = jsonify(status="ok", database="unavailable", reason=why)
    rv.headers["Cache-Control"] = "no-store"
    return rv


@bp.get("/readyz")
def readyz():
    ready, why = readiness()
    rv = jsonify(status="ready" if ready else "not ready", reason=why)
    rv.status_code = 200 if ready else 503
    rv.headers["Cache-Control"] = "no-store"
    if not ready:
        rv.headers["Retry-After"] = str(RETRY_AFTER_S)
    return rv
