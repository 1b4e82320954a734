"""The bearer check reads the token on every request: nothing cached can outlive a
revocation, on any app server."""

from __future__ import annotations

from config import TestingConfig
from willow import create_app
from willow.console.tokens import find_token
from willow.console.tokens import revoke_token
from willow.storage.extensions import db


def test_a_token_revoked_on_another_server_is_refused_at_the_next_request(
    app, database_url, token
):
    headers = {"Authorization": f"Bearer {token}"}
    server_a = app.test_client()
    assert server_a.get("/scim/v2/Users", headers=headers).status_code == 200

    server_b = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    try:
        with server_b.app_context():
            revoke_token(find_token(token))
            db.session.commit()
    finally:
        with server_b.app_context():
            db.engine.dispose()

    rv = server_a.get("/scim/v2/Users", headers=headers)
    assert rv.status_code == 401
    assert "revoked" in rv.get_json()["detail"]
