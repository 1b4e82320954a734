"""Fixtures for the hardening tests: two organizations with data, and a snapshot of every
provisioned row to prove that refused requests changed nothing."""

from __future__ import annotations

import collections
import contextlib
import json
import shutil
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from config import TestingConfig
from willow import create_app
from willow.console.organizations import create_organization
from willow.console.tokens import create_token
from willow.storage.extensions import db

from .live import LiveServer

SCIM_TYPE = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

#: What the hardening tests sent and survived, printed at the end of the run (the counts
#: the closing note of issue 12 quotes).
COUNTS: collections.Counter[str] = collections.Counter()


def pytest_terminal_summary(terminalreporter) -> None:
    if COUNTS:
        shown = ", ".join(f"{name}: {number}" for name, number in sorted(COUNTS.items()))
        terminalreporter.write_line(f"hardening: {shown}")


#: Tables whose rows a SCIM request may change; the request log and token usage are
#: expected to change on every request and are left out.
PROVISIONED_TABLES = ("organizations", "users", "user_values", "groups", "group_members")


def user_body(user_name: str, **extra) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "title": "Engineer",
        ENTERPRISE: {"employeeNumber": "1001", "department": "R&D"},
        **extra,
    }


def patch_ops(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@dataclass
class Tenant:
    """One organization as an IdP sees it: its token and what it provisioned."""

    org_id: int
    scim: object  # tests.conftest.ScimActions, bound to this organization's token
    user_ids: list[str]
    user_names: list[str]
    group_id: str
    group_name: str


def _provision(scim, prefix: str) -> tuple[list[str], list[str], str, str]:
    names = [f"{prefix}.one@example.com", f"{prefix}.two@example.com"]
    ids = []
    for name in names:
        rv = scim.post("/Users", user_body(name))
        assert rv.status_code == 201, rv.get_data(as_text=True)
        ids.append(rv.get_json()["id"])
    group_name = f"{prefix} engineers"
    rv = scim.post(
        "/Groups",
        {"displayName": group_name, "members": [{"value": ids[0]}, {"value": ids[1]}]},
    )
    assert rv.status_code == 201, rv.get_data(as_text=True)
    return ids, names, rv.get_json()["id"], group_name


@pytest.fixture
def tenants(app, client, org, scim, make_token) -> tuple[Tenant, Tenant]:
    """Organization A (``default``, the ``scim`` fixture's token) and B (``other``), each
    with two users and a group holding both, provisioned through the API."""
    with app.app_context():
        other_id = create_organization("other", "Other organization").id
        db.session.commit()
    other = type(scim)(client, make_token(other_id))
    rv = []
    for org_id, actions, prefix in ((org.id, scim, "alpha"), (other_id, other, "bravo")):
        ids, names, group_id, group_name = _provision(actions, prefix)
        rv.append(Tenant(org_id, actions, ids, names, group_id, group_name))
    return rv[0], rv[1]


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of the provisioned tables, in a stable order."""
    rv = {}
    with app.app_context(), db.engine.connect() as conn:
        for table in PROVISIONED_TABLES:
            rows = conn.exec_driver_sql(f"SELECT * FROM {table}").all()
            rv[table] = sorted(tuple(map(repr, row)) for row in rows)
    return rv


def log_rows(app) -> int:
    """How many request-log rows are committed, once every queued one is written."""
    assert app.extensions["willow_request_log"].flush()
    with app.app_context(), db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM scim_request_logs").scalar_one()


def error_problems(
    rv, status: int | tuple[int, ...], scim_type: str | tuple[str, ...] | None = None
) -> list[str]:
    """What is wrong with ``rv`` as the SCIM Error (RFC 7644 §3.12) it should be; [] if
    nothing. Collected rather than asserted, so one run reports every bad answer."""
    statuses = (status,) if isinstance(status, int) else status
    problems = []
    if rv.status_code not in statuses:
        problems.append(f"status {rv.status_code}, expected {statuses}")
    if rv.mimetype != SCIM_TYPE:
        problems.append(f"content type {rv.mimetype!r}")
    text = rv.get_data(as_text=True)
    if "Traceback" in text or 'File "' in text:
        problems.append("a stack trace in the body")
    try:
        body = json.loads(text)
    except ValueError:
        return [*problems, f"body is not JSON: {text[:80]!r}"]
    if not isinstance(body, dict) or body.get("schemas") != [ERROR_SCHEMA]:
        return [*problems, f"not a SCIM Error: {text[:120]!r}"]
    if body.get("status") != str(rv.status_code):
        problems.append(f"status member {body.get('status')!r}")
    scim_types = (scim_type,) if isinstance(scim_type, str) else scim_type
    if scim_types is not None and body.get("scimType") not in scim_types:
        problems.append(f"scimType {body.get('scimType')!r}, expected {scim_type!r}")
    return problems


@pytest.fixture
def live_servers(app, database_url, tmp_path):
    """Start ``python app.py`` servers on the test's database: ``live_servers(2)``. They
    are stopped before the database is emptied or removed."""
    started: list[LiveServer] = []

    def start(count: int = 1, *, threads: int = 8) -> list[LiveServer]:
        rv = []
        for _ in range(count):
            log = tmp_path / f"server-{len(started)}.log"
            server = LiveServer(database_url, log, threads=threads)
            started.append(server)
            rv.append(server.launch())
        return [server.wait_ready() for server in rv]

    yield start
    for server in started:
        server.stop()


def default_org_token(app, name: str = "hardening") -> str:
    """A new SCIM token of the ``default`` organization, made in-process."""
    with app.app_context():
        org_id = db.session.scalar(sa.text("SELECT id FROM organizations WHERE slug='default'"))
        _, plaintext = create_token(org_id, name)
        db.session.commit()
    return plaintext


@contextlib.contextmanager
def served_database(request, tmp_path_factory):
    """A migrated database for servers that outlive one test (module-scoped fixtures
    parametrized "sqlite"/"postgresql"): yields an app on it and its URL. The PostgreSQL
    one is the session's database, emptied again at the end as the ``app`` fixture does."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        path = tmp_path_factory.mktemp("served") / "willow.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path.as_posix()}"
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url})
    try:
        yield app, url
    finally:
        app.extensions["willow_request_log"].stop()
        with app.app_context():
            db.session.remove()
            if request.param == "postgresql":
                _empty_postgres()
            db.engine.dispose()


def _empty_postgres() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        conn.exec_driver_sql(
            "INSERT INTO organizations (slug, name, created_at) "
            "VALUES ('default', 'Default organization', now())"
        )
