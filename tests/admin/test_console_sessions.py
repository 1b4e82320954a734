"""Server-side console sessions: what the cookie holds, sign-out, idle and absolute
timeouts, and the one-time API token that never travels in a cookie."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib

import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import ConsoleSession
from willow.storage.models import ConsoleUser

TOKEN_RE = re.compile(r'value="(wsk_[A-Za-z0-9_\-]+)"')


def generate(client):
    rv = client.post("/admin/tokens", data={"name": "Okta", "scopes": ["scim"]})
    assert rv.status_code == 302
    return rv


def cookie_value(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def cookie_payload(client) -> str:
    """The decoded contents of Flask's signed (not encrypted) session cookie."""
    value = cookie_value(client)
    compressed = value.startswith(".")
    data = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode("utf-8")


def session_rows(app) -> list[ConsoleSession]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ConsoleSession)).all()
        db.session.expunge_all()
        return rows


def test_cookie_holds_a_random_session_id_and_the_database_only_its_digest(app, client, console):
    console.login()
    payload = json.loads(cookie_payload(client))
    assert set(payload) == {"sid"}
    [row] = session_rows(app)
    assert row.digest == hashlib.sha256(payload["sid"].encode()).hexdigest()
    assert payload["sid"] not in repr(
        {c.name: getattr(row, c.name) for c in ConsoleSession.__table__.columns}
    )


def test_sign_out_ends_the_session_on_the_server_so_a_copied_cookie_is_dead(app, client, console):
    console.login()
    stolen = cookie_value(client)
    assert client.get("/admin/tokens").status_code == 200
    console.logout()
    assert session_rows(app) == []
    client.set_cookie("session", stolen)
    assert client.get("/admin/tokens").status_code == 302


def test_two_sign_ins_are_two_sessions_and_signing_out_one_keeps_the_other(app, console):
    first, second = app.test_client(), app.test_client()
    email = console.make_admin("two@example.com")
    for c in (first, second):
        c.post("/admin/login", data={"email": email, "password": "correct horse battery staple"})
    assert len(session_rows(app)) == 2
    first.post("/admin/logout")
    assert first.get("/admin/tokens").status_code == 302
    assert second.get("/admin/tokens").status_code == 200


def test_signing_in_again_ends_the_browsers_previous_session(app, client, console):
    """Session fixation: the session id the browser held before sign-in is dead after it."""
    console.login()
    before = cookie_value(client)
    [old] = session_rows(app)
    console.login()
    [new] = session_rows(app)
    assert new.digest != old.digest
    client.set_cookie("session", before)
    assert client.get("/admin/tokens").status_code == 302


def test_signing_in_as_someone_else_ends_the_browsers_previous_session(app, client, console):
    console.login()
    before = cookie_value(client)
    other = console.make_admin("other@example.com")
    assert console.login(other).status_code == 302
    assert [row.user.email for row in session_rows_with_users(app)] == [other]
    client.set_cookie("session", before)
    assert client.get("/admin/tokens").status_code == 302


def test_signing_in_keeps_the_accounts_sessions_in_other_browsers(app, console):
    first, second = app.test_client(), app.test_client()
    email = console.make_admin("two@example.com")
    login = {"email": email, "password": "correct horse battery staple"}
    first.post("/admin/login", data=login)
    second.post("/admin/login", data=login)
    second.post("/admin/login", data=login)
    assert len(session_rows(app)) == 2
    assert first.get("/admin/tokens").status_code == 200
    assert second.get("/admin/tokens").status_code == 200


def session_rows_with_users(app) -> list[ConsoleSession]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(ConsoleSession).options(sa.orm.joinedload(ConsoleSession.user))
        ).all()
        db.session.expunge_all()
        return rows


def test_idle_session_times_out(app, client, console, clock):
    console.login()
    clock.advance(minutes=29)
    assert client.get("/admin/tokens").status_code == 200
    clock.advance(minutes=29)  # 29 minutes after the last request: still alive
    assert client.get("/admin/tokens").status_code == 200
    clock.advance(minutes=30)
    rv = client.get("/admin/tokens")
    assert rv.status_code == 302
    assert rv.headers["Location"].startswith("/admin/login")
    assert session_rows(app) == [], "an expired session is deleted when it is seen"


def test_idle_timeout_is_configurable(app, client, console, clock):
    app.config["WILLOW_SESSION_IDLE_MINUTES"] = 5
    console.login()
    clock.advance(minutes=4)
    assert client.get("/admin/tokens").status_code == 200
    clock.advance(minutes=5)
    assert client.get("/admin/tokens").status_code == 302


def test_session_ends_after_its_absolute_lifetime_however_busy(app, client, console, clock):
    app.config["WILLOW_SESSION_MAX_HOURS"] = 2
    console.login()
    for _ in range(7):
        clock.advance(minutes=15)
        assert client.get("/admin/tokens").status_code == 200
    clock.advance(minutes=15)
    assert client.get("/admin/tokens").status_code == 302


def test_reading_pages_refreshes_last_seen_at_most_once_a_minute(app, client, console, clock):
    console.login()
    [before] = session_rows(app)
    clock.advance(seconds=30)
    client.get("/admin/tokens")
    assert session_rows(app)[0].last_seen_at == before.last_seen_at
    clock.advance(seconds=40)
    client.get("/admin/tokens")
    assert session_rows(app)[0].last_seen_at == clock.now


def test_signing_in_deletes_sessions_that_have_expired(app, client, console, clock):
    console.login()
    clock.advance(hours=1)
    other = app.test_client()
    other.post(
        "/admin/login",
        data={"email": console.default_email, "password": "correct horse battery staple"},
    )
    assert len(session_rows(app)) == 1


def test_deleting_a_console_user_deletes_their_sessions(app, client, console):
    console.login()
    with app.app_context():
        db.session.execute(sa.delete(ConsoleUser))
        db.session.commit()
    assert session_rows(app) == []


def test_one_time_token_waits_encrypted_server_side_and_never_in_the_cookie(app, client, console):
    console.login()
    rv = generate(client)
    location = rv.headers["Location"]
    # Between generation and display: not in the cookie, not in the database in clear.
    assert "wsk_" not in cookie_payload(client)
    [row] = session_rows(app)
    assert row.pending_token_id is not None
    assert row.pending_token_secret and b"wsk_" not in row.pending_token_secret
    page = client.get(location).get_data(as_text=True)
    plaintext = TOKEN_RE.search(page).group(1)
    assert plaintext.encode() not in row.pending_token_secret
    # Shown once: gone from the session row, and the page never shows it again.
    [row] = session_rows(app)
    assert row.pending_token_id is None and row.pending_token_secret is None
    assert plaintext not in client.get(location).get_data(as_text=True)


def test_one_time_token_cannot_be_read_with_another_session(app, client, console):
    console.login()
    location = generate(client).headers["Location"]
    other = app.test_client()
    other.post(
        "/admin/login",
        data={"email": console.default_email, "password": "correct horse battery staple"},
    )
    assert "wsk_" not in other.get(location).get_data(as_text=True)
    assert TOKEN_RE.search(client.get(location).get_data(as_text=True))


def test_one_time_token_is_dropped_with_the_session_at_sign_out(app, client, console):
    console.login()
    location = generate(client).headers["Location"]
    console.logout()
    assert session_rows(app) == []
    console.login()
    assert "wsk_" not in client.get(location).get_data(as_text=True)


def sign_in_elsewhere(app, email: str, password: str = "correct horse battery staple"):
    other = app.test_client()
    rv = other.post("/admin/login", data={"email": email, "password": password})
    assert rv.status_code == 302
    return other


# -- ending other people's sessions ------------------------------------------------------


def test_admin_sees_and_ends_another_console_users_session(app, client, console):
    console.login()
    viewer_email = console.make_admin("viewer@example.com", role="viewer")
    viewer = sign_in_elsewhere(app, viewer_email)
    html = client.get("/admin/sessions").get_data(as_text=True)
    assert viewer_email in html and "(this session)" in html
    [row] = [r for r in session_rows(app) if r.console_user_id != current_user_id(app, client)]
    rv = client.post(f"/admin/sessions/{row.id}/end")
    assert rv.status_code == 302
    assert viewer.get("/admin/directory/users").status_code == 302
    assert client.get("/admin/tokens").status_code == 200


def current_user_id(app, client) -> int:
    payload = json.loads(cookie_payload(client))
    digest = hashlib.sha256(payload["sid"].encode()).hexdigest()
    return next(r.console_user_id for r in session_rows(app) if r.digest == digest)


def test_ending_ones_own_session_from_the_list_signs_out(app, client, console):
    console.login()
    [row] = session_rows(app)
    rv = client.post(f"/admin/sessions/{row.id}/end")
    assert rv.headers["Location"] == "/admin/login"
    assert client.get("/admin/tokens").status_code == 302


def test_only_admins_see_or_end_sessions(app, client, console):
    admin = console.make_admin("boss@example.com")
    sign_in_elsewhere(app, admin)
    [admin_row] = session_rows(app)
    console.login(console.make_admin("member@example.com", role="member"))
    assert client.get("/admin/sessions").status_code == 403
    assert client.post(f"/admin/sessions/{admin_row.id}/end").status_code == 403
    assert len(session_rows(app)) == 2


def test_an_admin_cannot_see_or_end_another_organizations_sessions(app, client, console, directory):
    other_org = directory.other_org()
    outsider = console.make_admin("outsider@other.example", org_id=other_org)
    sign_in_elsewhere(app, outsider)
    [foreign] = session_rows(app)
    console.login()
    assert outsider not in client.get("/admin/sessions").get_data(as_text=True)
    assert client.post(f"/admin/sessions/{foreign.id}/end").status_code == 404
    assert len(session_rows(app)) == 2


# -- the command line --------------------------------------------------------------------


def test_cli_password_change_ends_all_of_that_users_sessions(app, client, console, runner):
    console.login()
    other_email = console.make_admin("other@example.com")
    other = sign_in_elsewhere(app, other_email)
    rv = runner.invoke(
        args=["admin", "password", "--email", console.default_email, "--password", "new pass 123"]
    )
    assert rv.exit_code == 0, rv.output
    assert "ended 1 console session(s)" in rv.output
    assert client.get("/admin/tokens").status_code == 302
    assert other.get("/admin/tokens").status_code == 200
    assert console.login().status_code == 401  # the old password
    assert console.login(password="new pass 123").status_code == 302


def test_cli_password_is_prompted_when_not_given_and_checked(app, console, runner):
    console.login()
    rv = runner.invoke(
        args=["admin", "password", "--email", console.default_email],
        input="short\nshort\n",
    )
    assert rv.exit_code != 0
    assert "at least 8 characters" in rv.output
    assert len(session_rows(app)) == 1


def test_cli_password_for_an_unknown_email_fails(runner):
    rv = runner.invoke(
        args=["admin", "password", "--email", "x@example.com", "--password", "p" * 9]
    )
    assert rv.exit_code != 0
    assert "no console user" in rv.output


def test_cli_end_sessions_signs_a_user_out_everywhere(app, client, console, runner):
    console.login()
    sign_in_elsewhere(app, console.default_email)
    rv = runner.invoke(args=["admin", "end-sessions", "--email", console.default_email])
    assert rv.exit_code == 0, rv.output
    assert "Ended 2 console session(s)" in rv.output
    assert client.get("/admin/tokens").status_code == 302
