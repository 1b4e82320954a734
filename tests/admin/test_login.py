"""Console sign-in: the form, sessions, no user enumeration, safe redirects (the throttle:
test_sign_in_throttle.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from config import TestingConfig
from willow import create_app
from willow.console import auth as console_auth
from willow.console.auth import SIGN_IN_FAILED
from willow.console.auth import safe_next
from willow.storage.extensions import db
from willow.storage.models import ConsoleUser


def test_login_page_has_labelled_email_and_password_fields(client):
    html = client.get("/admin/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html


def test_login_with_right_password_signs_in_and_lands_on_tokens(client, console):
    rv = console.login()
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/admin/"
    rv = client.get("/admin/", follow_redirects=True)
    assert rv.request.path == "/admin/tokens"
    assert "admin@example.com" in rv.get_data(as_text=True)


def test_email_is_case_insensitive_and_trimmed(client, make_admin, console):
    make_admin("Ops@Example.com")
    rv = console.login("  OPS@example.COM ")
    assert rv.status_code == 302


def test_signed_in_visit_to_login_page_goes_to_console(client, console):
    console.login()
    rv = client.get("/admin/login")
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/admin/"


def test_logout_ends_the_session(client, console):
    console.login()
    rv = console.logout()
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/admin/login"
    assert client.get("/admin/tokens").status_code == 302


def test_logout_is_post_only(client, console):
    console.login()
    assert client.get("/admin/logout").status_code == 405
    assert client.get("/admin/tokens").status_code == 200


def test_login_clears_the_previous_session(client, console):
    """Session fixation: nothing planted before sign-in survives it."""
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    console.login()
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert set(sess) == {"sid"}


def test_session_for_a_deleted_console_user_is_anonymous(app, client, console):
    console.login()
    with app.app_context():
        db.session.execute(sa.delete(ConsoleUser))
        db.session.commit()
    assert client.get("/admin/tokens").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("admin@example.com", "wrong password"),
        ("nobody@example.com", "correct horse battery staple"),
        ("nobody@example.com", "wrong password"),
    ],
)
def test_failed_sign_in_says_the_same_thing_whatever_was_wrong(client, console, email, password):
    console.login()  # creates the known account
    console.logout()
    rv = console.login(email, password)
    assert rv.status_code == 401
    html = rv.get_data(as_text=True)
    assert SIGN_IN_FAILED in html
    assert "unknown" not in html.lower()
    with client.session_transaction() as sess:
        assert "sid" not in sess


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "password": "x"}, "This field is required."),
        ({"email": "admin@example.com", "password": ""}, "This field is required."),
    ],
)
def test_login_form_requires_both_fields(client, data, message):
    rv = client.post("/admin/login", data=data)
    assert message in rv.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/tokens", "/admin/tokens"),
        ("/admin/directory/users?q=ann&page=2", "/admin/directory/users?q=ann&page=2"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("/\t/evil.example/", None),
        ("javascript:alert(1)", None),
        ("admin/tokens", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next_accepts_only_local_paths(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/admin/tokens?x=1", "/admin/tokens?x=1"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example", "/admin/"),
    ],
)
def test_sign_in_returns_to_next_only_when_it_is_local(client, console, target, location):
    console.make_admin("admin@example.com")
    rv = client.post(
        "/admin/login",
        data={
            "email": "admin@example.com",
            "password": "correct horse battery staple",
            "next": target,
        },
    )
    assert rv.headers["Location"] == location


def test_login_page_carries_a_safe_next_into_the_form(client):
    html = client.get("/admin/login?next=/admin/tokens").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/admin/tokens"' in html
    html = client.get("/admin/login?next=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in html


def _session_cookie(rv) -> str:
    cookies = [c for c in rv.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    return cookies[0]


def test_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_http(client, console):
    cookie = _session_cookie(console.login())
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_the_request_came_over_https(client, console):
    console.make_admin("admin@example.com")
    rv = client.post(
        "/admin/login",
        data={"email": "admin@example.com", "password": "correct horse battery staple"},
        base_url="https://localhost",
    )
    assert "Secure" in _session_cookie(rv)


def test_session_cookie_is_secure_when_the_public_url_is_https(database_url, make_admin):
    app = create_app(
        TestingConfig,
        {"SQLALCHEMY_DATABASE_URI": database_url, "WILLOW_PUBLIC_URL": "https://willow.example"},
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    email = make_admin()
    rv = app.test_client().post(
        "/admin/login", data={"email": email, "password": "correct horse battery staple"}
    )
    assert "Secure" in _session_cookie(rv)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("email", "password"),
    [("admin@example.com", "wrong"), ("nobody@example.com", "wrong")],
    ids=["wrong-password", "unknown-email"],
)
def test_every_failed_sign_in_costs_one_password_hash(app, console, monkeypatch, email, password):
    """Response time must not tell unknown accounts from wrong passwords."""
    console.make_admin("admin@example.com")
    calls = []
    real = console_auth.check_password_hash
    monkeypatch.setattr(console_auth, "check_password_hash", lambda *a: calls.append(a) or real(*a))
    assert console.login(email, password).status_code == 401
    assert len(calls) == 1
