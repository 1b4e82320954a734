"""``flask --app app db copy --to URL`` from SQLite and from PostgreSQL into an empty
PostgreSQL database: every kind of row, verified, and the copy serves."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config import TestingConfig
from tests.conftest import POSTGRES_URL
from tests.conftest import SCIM_TYPE
from tests.conftest import _psycopg
from willow import create_app
from willow.console.access import set_group_role
from willow.guard import rules
from willow.guard.store import save_settings
from willow.sso.models import SsoConfig
from willow.sso.models import SsoDomain
from willow.sso.models import SsoSignInEvent
from willow.sso.models import SsoSubject
from willow.sso.secrets import decrypt_secret
from willow.sso.secrets import encrypt_secret
from willow.storage.extensions import db
from willow.storage.models import Group
from willow.storage.models import utcnow
from willow.webhooks.store import create_endpoint


@pytest.fixture
def empty_postgres():
    if not POSTGRES_URL:
        pytest.skip("db copy targets PostgreSQL: set WILLOW_TEST_POSTGRES_URL")
    admin = sa.create_engine(_psycopg(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"willow_copy_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(_psycopg(POSTGRES_URL)).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _deactivate(scim, user_id: str):
    return scim.patch(
        f"/Users/{user_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )


def _fill(app, scim, runner, org) -> dict:
    """A row in every table db copy copies."""
    with app.app_context():
        save_settings(org.id, rules.Settings(count=1, percent=0))
        db.session.commit()
    jane = scim.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane@example.com",
            "externalId": "00u1",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jane@example.com", "type": "work", "primary": True}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
            "password": "Secret-123",
            "active": True,
        },
    ).get_json()
    joe = scim.post(
        "/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "joe@example.com"},
    ).get_json()
    group = scim.post(
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{"value": jane["id"]}, {"value": joe["id"]}],
        },
    ).get_json()
    assert _deactivate(scim, joe["id"]).status_code == 200
    # The second deactivation within the hour trips the guard (count 1): jane's is held,
    # then allowed (a decision); kim's stays held.
    kim = scim.post(
        "/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kim@example.com"},
    ).get_json()
    _deactivate(scim, jane["id"])
    _deactivate(scim, kim["id"])  # stays held
    assert runner.invoke(args=["guard", "allow", "--user", jane["id"]]).exit_code == 0
    with app.app_context():
        set_group_role(db.session.get(Group, group["id"]), "admin")
        db.session.add(
            SsoConfig(
                organization_id=org.id,
                issuer="https://idp.example.com",
                client_id="willow",
                client_secret_encrypted=encrypt_secret("client-secret-1"),
                provider_metadata={"issuer": "https://idp.example.com", "jwks_uri": "x"},
            )
        )
        db.session.add(
            SsoDomain(organization_id=org.id, domain="example.com", verification_token="t")
        )
        create_endpoint(org.id, "https://hooks.example.com/willow", description="downstream")
        db.session.add(
            SsoSubject(
                organization_id=org.id,
                scim_user_id=jane["id"],
                issuer="https://idp.example.com",
                subject="00u1",
            )
        )
        db.session.add(
            SsoSignInEvent(organization_id=org.id, outcome="signed_in", reason="ok", email="j@x")
        )
        db.session.commit()
    app.extensions["willow_request_log"].flush()
    return {"jane": jane, "joe": joe, "group": group}


def _counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
    engine.dispose()
    return counts


def test_copy_keeps_every_kind_of_row_and_the_copy_serves(
    app, scim, runner, org, token, make_admin, empty_postgres
):
    made = _fill(app, scim, runner, org)
    make_admin(email="admin@example.com")
    with app.app_context(), db.engine.begin() as conn:
        # An event from weeks ago: its day has no partition on the target until the copy
        # makes one.
        conn.execute(
            sa.text("UPDATE events SET occurred_at = :old WHERE sequence = 1"),
            {"old": utcnow() - timedelta(days=40)},
        )
    jane_before = scim.get(f"/Users/{made['jane']['id']}").get_json()
    result = runner.invoke(args=["db", "copy", "--to", empty_postgres])
    assert result.exit_code == 0, result.output
    assert "Verified" in result.output and "DIFFERS" not in result.output
    assert "WILLOW_DATABASE_URL=postgresql://postgres@" in result.output
    assert "left behind: console sign-in sessions" in result.output

    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        source = _counts(app.config["SQLALCHEMY_DATABASE_URI"], tables)
    copied = _counts(empty_postgres, tables)
    for name in ("console_sessions", "sign_in_throttles", "rate_limit_counters"):
        copied.pop(name), source.pop(name)
    assert copied == source
    empty = [name for name, rows in copied.items() if rows == 0]
    assert empty == ["webhook_attempts"]  # made by the delivery worker, not running here

    engine = sa.create_engine(empty_postgres)
    with engine.connect() as conn:
        where = conn.exec_driver_sql(
            "SELECT tableoid::regclass::text FROM scim_request_logs GROUP BY 1"
        ).scalars().all()
        events_where = conn.exec_driver_sql(
            "SELECT tableoid::regclass::text FROM events GROUP BY 1"
        ).scalars().all()
    engine.dispose()
    assert where and not any(name.endswith("_default") for name in where), where
    assert len(events_where) >= 2 and "events_default" not in events_where, events_where

    served = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": empty_postgres,
                                        "SECRET_KEY": app.config["SECRET_KEY"]})
    client = served.test_client()
    auth = {"Authorization": f"Bearer {token}", "Accept": SCIM_TYPE}
    got = client.get(f"/scim/v2/Users/{made['jane']['id']}", headers=auth)
    assert got.status_code == 200
    assert got.get_json() == jane_before
    # Ids continue after the copied ones: a new user and a new token row are written.
    assert client.post(
        "/scim/v2/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new@x.com"},
        headers={**auth, "Content-Type": SCIM_TYPE},
    ).status_code == 201
    with served.app_context():
        secret = db.session.scalars(sa.select(SsoConfig)).one().client_secret_encrypted
        assert decrypt_secret(secret) == "client-secret-1"
    served.extensions["willow_request_log"].stop()
    with served.app_context():
        db.session.remove()
        db.engine.dispose()


def test_copy_without_log_leaves_the_request_log_behind(app, scim, runner, org, empty_postgres):
    _fill(app, scim, runner, org)
    result = runner.invoke(args=["db", "copy", "--to", empty_postgres, "--without-log"])
    assert result.exit_code == 0, result.output
    assert "left behind: the request log" in result.output
    counts = _counts(empty_postgres, ["scim_request_logs", "events", "users"])
    assert counts["scim_request_logs"] == 0 and counts["events"] > 0 and counts["users"] == 3


def test_a_target_that_holds_data_is_refused_and_left_as_it_was(
    app, scim, runner, org, empty_postgres
):
    _fill(app, scim, runner, org)
    engine = sa.create_engine(empty_postgres)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customer_data (x int)")
        conn.exec_driver_sql("INSERT INTO customer_data VALUES (1)")
    result = runner.invoke(args=["db", "copy", "--to", empty_postgres])
    assert result.exit_code != 0
    assert "already holds data (in customer_data)" in result.output
    assert sa.inspect(engine).get_table_names() == ["customer_data"]
    engine.dispose()


def test_the_source_itself_and_other_databases_are_refused(app, runner):
    result = runner.invoke(args=["db", "copy", "--to", "sqlite:///elsewhere.sqlite"])
    assert result.exit_code != 0 and "must be a PostgreSQL database" in result.output
    result = runner.invoke(args=["db", "copy", "--to", "not a url"])
    assert result.exit_code != 0 and "not a database URL" in result.output
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        result = runner.invoke(args=["db", "copy", "--to", app.config["SQLALCHEMY_DATABASE_URI"]])
        assert result.exit_code != 0 and "already uses" in result.output


def test_an_unreachable_target_is_a_clear_error(app, runner):
    result = runner.invoke(args=["db", "copy", "--to", "postgresql://postgres@127.0.0.1:1/nowhere"])
    assert result.exit_code != 0
    assert "cannot use postgresql+psycopg://postgres@127.0.0.1:1/nowhere" in result.output
    assert "Traceback" not in result.output
