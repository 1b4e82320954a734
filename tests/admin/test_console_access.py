"""Every console route needs a signed-in admin; every console form needs its CSRF token."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from config import TestingConfig
from willow import create_app
from willow.console.tokens import create_token
from willow.storage.extensions import db
from willow.storage.models import ApiToken
from willow.storage.models import Organization

#: Console endpoints that anonymous visitors may use.
PUBLIC_ENDPOINTS = {"admin.login", "admin.logout"}
CONSOLE_BLUEPRINTS = ("admin.",)


def _console_routes() -> list[tuple[str, str]]:
    """(method, URL) for every console route, with placeholder ids: built from the URL map,
    so a route added later without ``login_required`` fails this test."""
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    rv = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(CONSOLE_BLUEPRINTS) or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        # 1 is a valid value for int and string converters alike.
        values = dict.fromkeys(rule.arguments, 1)
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        rv.extend((method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return rv


CONSOLE_ROUTES = _console_routes()


def test_the_route_table_covers_the_console():
    urls = {url for _, url in CONSOLE_ROUTES}
    assert {
        "/admin/",
        "/admin/tokens",
        "/admin/tokens/1/created",
        "/admin/tokens/1/revoke",
        "/admin/directory/users",
        "/admin/directory/users/1",
        "/admin/directory/groups",
        "/admin/directory/groups/1",
        "/admin/directory/groups/1/role",
        "/admin/logs",
    } <= urls


@pytest.mark.parametrize(("method", "url"), CONSOLE_ROUTES)
def test_console_route_requires_sign_in(client, method, url):
    rv = client.open(url, method=method)
    assert rv.status_code == 302
    assert rv.headers["Location"].startswith("/admin/login")


@pytest.fixture
def csrf_client(database_url, make_admin):
    """A client of an app with CSRF protection on, as in production."""
    app = create_app(
        TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True}
    )
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


def _csrf_token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _sign_in(client, email: str) -> None:
    token = _csrf_token(client, "/admin/login")
    rv = client.post(
        "/admin/login",
        data={"email": email, "password": "correct horse battery staple", "csrf_token": token},
    )
    assert rv.status_code == 302


def test_login_without_csrf_token_is_rejected(csrf_client, make_admin):
    email = make_admin()
    rv = csrf_client.post(
        "/admin/login", data={"email": email, "password": "correct horse battery staple"}
    )
    assert rv.status_code == 400
    assert rv.mimetype == "text/html"
    assert "CSRF token" in rv.get_data(as_text=True)
    with csrf_client.session_transaction() as sess:
        assert "sid" not in sess


def test_console_posts_without_csrf_token_are_rejected(app, csrf_client, make_admin):
    _sign_in(csrf_client, make_admin())
    with app.app_context():
        org_id = db.session.scalars(sa.select(Organization.id)).one()
        token, _ = create_token(org_id, "Existing")
        db.session.commit()
        token_id = token.id
    assert (
        csrf_client.post("/admin/tokens", data={"name": "New", "scopes": "scim"}).status_code == 400
    )
    assert csrf_client.post(f"/admin/tokens/{token_id}/revoke").status_code == 400
    assert csrf_client.post("/admin/logout").status_code == 400
    with app.app_context():
        tokens = db.session.scalars(sa.select(ApiToken)).all()
        assert [(t.name, t.status()) for t in tokens] == [("Existing", "active")]
    assert csrf_client.get("/admin/tokens").status_code == 200


def test_console_posts_with_csrf_token_are_accepted(app, csrf_client, make_admin):
    _sign_in(csrf_client, make_admin())
    csrf = _csrf_token(csrf_client, "/admin/tokens")
    rv = csrf_client.post(
        "/admin/tokens", data={"name": "New", "scopes": "scim", "csrf_token": csrf}
    )
    assert rv.status_code == 302
    rv = csrf_client.post("/admin/tokens/1/revoke", data={"csrf_token": csrf})
    assert rv.status_code == 302
    rv = csrf_client.post("/admin/logout", data={"csrf_token": csrf})
    assert rv.status_code == 302
