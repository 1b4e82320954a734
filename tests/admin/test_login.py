"""Console sign-in, sign-out and the login_required redirect."""

from __future__ import annotations

import pytest


def test_login_page_has_labelled_email_and_password_fields(client):
    html = client.get("/admin/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html


def test_login_with_right_password_signs_in_and_redirects_to_tokens(client, console):
    rv = console.login()
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/admin/"
    rv = client.get("/admin/", follow_redirects=True)
    assert rv.request.path == "/admin/tokens"
    assert "admin@example.com" in rv.get_data(as_text=True)


def test_logout_ends_the_session(client, console):
    console.login()
    rv = console.logout()
    assert rv.status_code == 302
    assert client.get("/admin/tokens").status_code == 302


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/admin/tokens", "/admin/login?next=/admin/tokens"),
        ("/admin/", "/admin/login?next=/admin/"),
    ],
)
def test_anonymous_visitor_is_sent_to_sign_in_with_next(client, path, expected):
    rv = client.get(path)
    assert rv.status_code == 302
    assert rv.headers["Location"] == expected
