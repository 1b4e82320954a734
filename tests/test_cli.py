"""The CLI command shapes on-prem admins script against."""

from __future__ import annotations

import sqlalchemy as sa

from willow.console.tokens import hash_token
from willow.storage.extensions import db
from willow.storage.models import ApiToken
from willow.storage.models import ConsoleUser
from willow.storage.models import Organization


def test_org_create_then_duplicate_is_refused(app, runner):
    result = runner.invoke(args=["org", "create", "acme", "--name", "Acme Inc"])
    assert result.exit_code == 0, result.output
    assert "acme" in result.output
    again = runner.invoke(args=["org", "create", "acme", "--name", "Acme Inc"])
    assert again.exit_code != 0
    assert "already exists" in again.output
    with app.app_context():
        assert db.session.scalars(sa.select(Organization).where(Organization.slug == "acme")).one()


def test_admin_create_stores_a_password_hash_not_the_password(app, runner):
    result = runner.invoke(
        args=["admin", "create", "--email", "Admin@Example.com", "--password", "s3cret-pass"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(sa.select(ConsoleUser)).one()
        assert user.email == "admin@example.com"
        assert user.password_hash.startswith("scrypt:")
        assert "s3cret-pass" not in user.password_hash


def test_admin_create_rejects_short_password_and_unknown_org(runner):
    short = runner.invoke(args=["admin", "create", "--email", "a@b.c", "--password", "x"])
    assert short.exit_code != 0
    unknown = runner.invoke(
        args=["admin", "create", "--email", "a@b.c", "--password", "longenough", "--org", "nope"]
    )
    assert unknown.exit_code != 0
    assert "nope" in unknown.output


def test_token_create_prints_the_token_alone_on_the_last_line_and_stores_its_digest(
    app, runner, client
):
    result = runner.invoke(args=["token", "create", "--name", "Okta SCIM Integration"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    assert plaintext.startswith("wsk_") and " " not in plaintext
    with app.app_context():
        token = db.session.scalars(sa.select(ApiToken)).one()
        assert token.digest == hash_token(plaintext)
        assert plaintext not in (token.prefix, token.digest)
        assert plaintext.startswith(token.prefix)
    rv = client.get("/scim/v2", headers={"Authorization": f"Bearer {plaintext}"})
    assert rv.status_code == 200


def test_token_list_and_revoke(app, runner, client):
    plaintext = runner.invoke(args=["token", "create", "--name", "IdP"]).output.splitlines()[-1]
    listing = runner.invoke(args=["token", "list"])
    assert "IdP" in listing.output and "active" in listing.output
    assert plaintext not in listing.output
    with app.app_context():
        token_id = db.session.scalars(sa.select(ApiToken.id)).one()
    revoked = runner.invoke(args=["token", "revoke", str(token_id)])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(args=["token", "list"]).output
    rv = client.get("/scim/v2", headers={"Authorization": f"Bearer {plaintext}"})
    assert rv.status_code == 401


def test_token_create_in_another_org_and_revoke_unknown_id(runner):
    runner.invoke(args=["org", "create", "acme", "--name", "Acme"])
    result = runner.invoke(args=["token", "create", "--name", "Okta", "--org", "acme"])
    assert result.exit_code == 0, result.output
    assert "acme" in result.output
    assert runner.invoke(args=["token", "revoke", "999"]).exit_code != 0
