"""Shared fixtures.

Every test that uses ``app`` (or anything built on it) runs twice: on SQLite, and on
PostgreSQL when ``WILLOW_TEST_POSTGRES_URL`` is set (skipped visibly otherwise). Both
databases are built by the real migration chain, never by ``create_all``.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from config import TestingConfig
from willow import create_app
from willow.console.tokens import create_token
from willow.storage.extensions import db
from willow.storage.models import ConsoleUser
from willow.storage.models import Organization

POSTGRES_URL = os.environ.get("WILLOW_TEST_POSTGRES_URL", "").strip()
SCIM_TYPE = "application/scim+json"


def pytest_report_header(config) -> str:
    if POSTGRES_URL:
        return "PostgreSQL variants: ON (WILLOW_TEST_POSTGRES_URL is set)"
    return "PostgreSQL variants: SKIPPED (set WILLOW_TEST_POSTGRES_URL to run them)"


def pytest_terminal_summary(terminalreporter) -> None:
    skipped = len(terminalreporter.stats.get("skipped", []))
    if skipped and not POSTGRES_URL:
        terminalreporter.write_line(
            f"{skipped} tests skipped: PostgreSQL variants need WILLOW_TEST_POSTGRES_URL "
            "(and browser tests need /usr/bin/chromium)."
        )


def _migrated_app(url: str):
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    _migrated_app(f"sqlite:///{path.as_posix()}")
    return path


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh, uniquely named PostgreSQL database migrated to head, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL variant: set WILLOW_TEST_POSTGRES_URL to run it")
    admin = sa.create_engine(_psycopg(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"willow_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(_psycopg(POSTGRES_URL)).set(database=name)
    url_text = url.render_as_string(hide_password=False)
    _migrated_app(url_text)
    yield url_text
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _psycopg(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _reset_postgres(app) -> None:
    """Empty every table between tests (much faster than migrating a database per test)."""
    # Log rows still queued would land after the TRUNCATE, in the next test's tables.
    app.extensions["willow_request_log"].stop()
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )
            conn.execute(
                sa.text(
                    "INSERT INTO organizations (slug, name, created_at) "
                    "VALUES ('default', 'Default organization', now())"
                )
            )
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "willow.sqlite"
    shutil.copyfile(template, path)
    return f"sqlite:///{path.as_posix()}"


@pytest.fixture
def app(database_url, backend):
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    if backend == "postgresql":
        _reset_postgres(app)
    else:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def org(app) -> Organization:
    """The ``default`` organization (detached; use ``org.id``)."""
    with app.app_context():
        org = db.session.scalars(
            sa.select(Organization).where(Organization.slug == "default")
        ).one()
        db.session.expunge(org)
        return org


@pytest.fixture
def make_token(app):
    """Create a SCIM token in an organization (default: ``default``); returns the plaintext."""

    def make(org_id: int | None = None, name: str | None = None, scopes=None) -> str:
        with app.app_context():
            if org_id is None:
                org_id = db.session.scalars(
                    sa.select(Organization.id).where(Organization.slug == "default")
                ).one()
            _, plaintext = create_token(org_id, name or f"token-{uuid.uuid4().hex[:8]}", scopes)
            db.session.commit()
            return plaintext

    return make


@pytest.fixture
def token(make_token) -> str:
    return make_token()


class ScimActions:
    """SCIM requests with the bearer token and SCIM media type, like an IdP sends them."""

    base = "/scim/v2"

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def headers(self, extra: dict | None = None) -> dict:
        rv = {"Authorization": f"Bearer {self.token}", "Accept": SCIM_TYPE}
        rv.update(extra or {})
        return rv

    def _url(self, path: str) -> str:
        return path if path.startswith("/scim") else self.base + path

    def get(self, path: str, **kw):
        return self.client.get(self._url(path), headers=self.headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw):
        return self.client.delete(
            self._url(path), headers=self.headers(kw.pop("headers", None)), **kw
        )

    def _send(self, method: str, path: str, body, headers=None, **kw):
        return self.client.open(
            self._url(path),
            method=method,
            data=body if isinstance(body, str | bytes) else json.dumps(body),
            headers=self.headers({"Content-Type": SCIM_TYPE, **(headers or {})}),
            **kw,
        )

    def post(self, path: str, body, **kw):
        return self._send("POST", path, body, **kw)

    def put(self, path: str, body, **kw):
        return self._send("PUT", path, body, **kw)

    def patch(self, path: str, body, **kw):
        return self._send("PATCH", path, body, **kw)


@pytest.fixture
def scim(client, token) -> ScimActions:
    return ScimActions(client, token)


ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_admin(app):
    """Create a console user (default: an admin of ``default``); returns the email.

    Hashes use one PBKDF2 round: sign-in checks any Werkzeug hash, and the tests would
    otherwise spend most of their time in scrypt.
    """

    def make(
        email: str | None = None,
        password: str = ADMIN_PASSWORD,
        org_id: int | None = None,
        role: str = "admin",
    ) -> str:
        email = email or f"admin-{uuid.uuid4().hex[:8]}@example.com"
        with app.app_context():
            if org_id is None:
                org_id = db.session.scalars(
                    sa.select(Organization.id).where(Organization.slug == "default")
                ).one()
            db.session.add(
                ConsoleUser(
                    organization_id=org_id,
                    email=email.lower(),
                    password_hash=generate_password_hash(password, method="pbkdf2:sha256:1"),
                    role=role,
                )
            )
            db.session.commit()
        return email.lower()

    return make


class ConsoleActions:
    """Console sign-in for tests (flaskr's AuthActions): ``console.login()`` signs in as an
    admin of ``default``, created on first use."""

    def __init__(self, client, make_admin):
        self.client = client
        self.make_admin = make_admin
        self.default_email: str | None = None

    def login(self, email: str | None = None, password: str = ADMIN_PASSWORD):
        if email is None:
            if self.default_email is None:
                self.default_email = self.make_admin("admin@example.com")
            email = self.default_email
        return self.client.post("/admin/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/admin/logout")


@pytest.fixture
def console(client, make_admin) -> ConsoleActions:
    return ConsoleActions(client, make_admin)
