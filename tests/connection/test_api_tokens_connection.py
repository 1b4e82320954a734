"""API Tokens and the token-shown-once page: the base URL to copy, the SSO status, and each
token's connection health read from the request log; ``check`` says the same about SSO."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import event

from willow.connection.health import token_health
from willow.console.tokens import revoke_token
from willow.sso.models import SsoConfig
from willow.storage.extensions import db
from willow.storage.models import ApiToken
from willow.storage.models import ScimRequestLog
from willow.storage.models import utcnow


def _token(app, name: str):
    with app.app_context():
        return db.session.scalars(sa.select(ApiToken).where(ApiToken.name == name)).one()


def _log(app, token, status: int, age: timedelta, detail: str | None = None, repeat=None):
    with app.app_context():
        row = ScimRequestLog(
            created_at=utcnow() - age,
            organization_id=token.organization_id,
            token_id=token.id,
            token_name=token.name,
            request_id=f"r{status}{int(age.total_seconds())}{repeat or ''}",
            method="GET",
            path="/scim/v2/Users",
            status_code=status,
            error_detail=detail,
            repeat_count=repeat,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_api_tokens_shows_the_public_url_as_the_scim_base_url(app, client, console):
    app.config["WILLOW_PUBLIC_URL"] = "https://willow.example.com/"
    console.login()
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert 'id="scim-base-url" type="text" value="https://willow.example.com/scim/v2"' in page
    assert 'data-copy-target="scim-base-url"' in page
    assert "from this browser" not in page


def test_without_a_public_url_the_base_url_is_the_browsers_and_says_so(app, client, console):
    app.config["WILLOW_PUBLIC_URL"] = None
    console.login()
    page = client.get("/admin/tokens", base_url="http://localhost:8080").get_data(as_text=True)
    assert 'value="http://localhost:8080/scim/v2"' in page
    assert "from this browser&#39;s address; set WILLOW_PUBLIC_URL to fix it" in page


def test_the_token_shown_once_page_has_the_base_url_beside_the_token(app, client, console):
    app.config["WILLOW_PUBLIC_URL"] = "https://willow.example.com"
    console.login()
    rv = client.post("/admin/tokens", data={"name": "Okta", "scopes": ["scim"]})
    page = client.get(rv.headers["Location"]).get_data(as_text=True)
    assert 'data-copy-target="token-value"' in page
    assert 'value="https://willow.example.com/scim/v2"' in page
    assert page.index('id="token-value"') < page.index('id="scim-base-url"')
    # Shown again (without the token) the page has nothing to paste beside: no base URL box.
    again = client.get(rv.headers["Location"]).get_data(as_text=True)
    assert "scim-base-url" not in again


def test_the_sso_page_says_what_missing_sso_means_and_that_scim_works(client, console):
    console.login()
    page = client.get("/admin/sso/").get_data(as_text=True)
    assert "provisioned users cannot sign in until SSO is configured" in page
    assert "SCIM provisioning works with or without SSO" in page
    assert "needs SSO configured first" not in page


def test_token_health_counts_the_last_day_and_finds_the_last_success_and_error(
    app, client, console, make_token
):
    make_token(name="Okta")
    make_token(name="Idle")
    okta = _token(app, "Okta")
    idle = _token(app, "Idle")
    _log(app, okta, 200, timedelta(hours=30))  # before the window
    _log(app, okta, 500, timedelta(hours=26), "old failure")  # before the window
    _log(app, okta, 201, timedelta(hours=2))
    last_error = _log(app, okta, 409, timedelta(hours=1), "userName jane is already taken")
    _log(app, okta, 429, timedelta(minutes=30), "too many", repeat=5)
    _log(app, okta, 200, timedelta(minutes=10))
    with app.app_context():
        health = token_health(okta.organization_id, utcnow())
    h = health[okta.id]
    assert h.requests == 1 + 1 + 5 + 1
    assert h.errors == 1 + 5
    assert utcnow() - h.last_success_at < timedelta(minutes=11)
    # The newest error is the counted 429, not the 409 an hour ago.
    assert h.last_error_status == 429 and h.last_error_reason == "too many"
    assert last_error != h.last_error_id
    assert health[idle.id].requests == 0 and health[idle.id].last_success_at is None

    console.login()
    page = client.get("/admin/tokens").get_data(as_text=True)
    row = re.search(r'<tr>\s*<th scope="row">Okta</th>.*?</tr>', page, re.S).group(0)
    assert 'data-requests="8" data-errors="6"' in row
    assert f'href="/monitor/scim-logs/{h.last_error_id}"' in row
    assert "429 too many" in row
    idle_row = re.search(r'<tr>\s*<th scope="row">Idle</th>.*?</tr>', page, re.S).group(0)
    assert "Last success: never" in idle_row and "0 requests, 0 errors" in idle_row


def test_token_health_is_one_statement_for_all_tokens(app, make_token):
    for number in range(5):
        make_token(name=f"t{number}")
    statements = []
    with app.app_context():
        org_id = _token(app, "t0").organization_id

        def count(*args):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            health = token_health(org_id, utcnow())
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert len(health) == 5
    assert len(statements) == 1


def test_token_health_sees_only_the_organizations_tokens(app, make_token):
    from willow.console.organizations import create_organization

    with app.app_context():
        other = create_organization("other", "Other")
        db.session.commit()
        other_id = other.id
    make_token(org_id=other_id, name="Theirs")
    make_token(name="Ours")
    theirs = _token(app, "Theirs")
    ours = _token(app, "Ours")
    _log(app, theirs, 200, timedelta(minutes=1))
    with app.app_context():
        assert set(token_health(ours.organization_id, utcnow())) == {ours.id}


def test_a_revoked_token_shows_when_it_was_revoked(app, client, console, make_token):
    make_token(name="Old Okta")
    with app.app_context():
        token = db.session.scalars(sa.select(ApiToken).where(ApiToken.name == "Old Okta")).one()
        revoke_token(token)
        db.session.commit()
        when = token.revoked_at.strftime("%Y-%m-%d %H:%M")
    console.login()
    page = client.get("/admin/tokens").get_data(as_text=True)
    row = re.search(r'<tr>\s*<th scope="row">Old Okta</th>.*?</tr>', page, re.S).group(0)
    assert "revoked" in row and 'class="muted revoked-at"' in row and when in row


def _configure_sso(app, org_id: int, enabled: bool = True) -> None:
    with app.app_context():
        db.session.add(
            SsoConfig(
                organization_id=org_id,
                issuer="https://idp.example.com",
                client_id="willow",
                client_secret_encrypted="not-read-here",
                enabled=enabled,
            )
        )
        db.session.commit()


def test_check_warns_that_users_cannot_sign_in_without_sso_and_still_passes(
    app, runner, token, org
):
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert (
        "[warn] SSO: SSO is not configured: provisioned users cannot sign in until SSO is "
        "configured." in result.output
    )
    assert "Ready for IdP connections." in result.output


def test_check_says_sso_is_configured_with_its_provider(app, runner, token, org):
    _configure_sso(app, org.id)
    result = runner.invoke(args=["check"])
    assert "[ok  ] SSO: SSO is configured" in result.output
    assert "https://idp.example.com" in result.output


def test_check_counts_a_turned_off_sso_as_not_configured(app, runner, token, org):
    _configure_sso(app, org.id, enabled=False)
    assert "[warn] SSO: SSO is not configured" in runner.invoke(args=["check"]).output
