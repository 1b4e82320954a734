"""Admin → API Tokens: generate (shown once, digest stored), list, revoke, expiry."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from willow.console.tokens import create_token
from willow.storage.extensions import db
from willow.storage.models import ApiToken
from willow.storage.models import Organization

SCIM_PROBE = "/scim/v2/ServiceProviderConfig"
TOKEN_RE = re.compile(r'value="(wsk_[A-Za-z0-9_\-]+)"')


def generate(client, name="Okta SCIM Integration", scopes=("scim",), expires_on=""):
    return client.post(
        "/admin/tokens", data={"name": name, "scopes": list(scopes), "expires_on": expires_on}
    )


def generate_and_reveal(client, **kwargs) -> str:
    rv = generate(client, **kwargs)
    assert rv.status_code == 302, rv.get_data(as_text=True)
    page = client.get(rv.headers["Location"])
    match = TOKEN_RE.search(page.get_data(as_text=True))
    assert match, "the created page shows the token"
    return match.group(1)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def other_org(app) -> int:
    with app.app_context():
        org = Organization(slug="other", name="Other Inc")
        db.session.add(org)
        db.session.commit()
        return org.id


def test_tokens_page_lists_the_generate_form(client, console):
    console.login()
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert '<label for="name">Token Name</label>' in html
    assert "SCIM user and group provisioning" in html
    assert 'type="checkbox" value="scim"' in html
    assert "Generate Token" in html


def test_generated_token_is_shown_once_then_never_again(client, console):
    console.login()
    rv = generate(client)
    location = rv.headers["Location"]
    assert re.fullmatch(r"/admin/tokens/\d+/created", location)
    first = client.get(location)
    assert first.headers["Cache-Control"] == "no-store"
    html = first.get_data(as_text=True)
    plaintext = TOKEN_RE.search(html).group(1)
    assert "will not be shown again" in html
    assert 'data-copy-target="token-value"' in html
    with client.session_transaction() as sess:
        assert plaintext not in repr(dict(sess))
    again = client.get(location).get_data(as_text=True)
    assert plaintext not in again
    assert "already shown once" in again
    assert plaintext not in client.get("/admin/tokens").get_data(as_text=True)


def test_only_the_sha256_digest_and_a_short_prefix_are_stored(app, client, console):
    console.login()
    plaintext = generate_and_reveal(client)
    with app.app_context():
        token = db.session.scalars(sa.select(ApiToken)).one()
        assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext.startswith(token.prefix)
        assert len(token.prefix) < len(plaintext) // 3
        row = db.session.execute(sa.select(ApiToken.__table__)).one()
        assert all(plaintext not in str(value) for value in row)


def test_generated_token_authenticates_scim_and_records_its_creator(app, client, console):
    console.login()
    plaintext = generate_and_reveal(client)
    assert client.get(SCIM_PROBE, headers=bearer(plaintext)).status_code == 200
    with app.app_context():
        token = db.session.scalars(sa.select(ApiToken)).one()
        assert token.scopes == "scim"
        assert token.created_by.email == "admin@example.com"


def test_table_shows_permissions_prefix_creator_last_use_and_status(app, client, console):
    console.login()
    plaintext = generate_and_reveal(client)
    with app.app_context():
        org_id = db.session.scalars(sa.select(Organization.id)).one()
        create_token(org_id, "From the CLI", created_by_label="cli")
        db.session.commit()
    client.get(SCIM_PROBE, headers={**bearer(plaintext), "User-Agent": "Okta SCIM Client 1.0.0"})
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert '<th scope="row">Okta SCIM Integration</th>' in html
    assert html.count("SCIM user and group provisioning") >= 3  # two rows and the form
    assert f"<code>{plaintext[:10]}…</code>" in html
    assert plaintext not in html
    assert "by admin@example.com" in html
    assert "by cli" in html
    assert "from 127.0.0.1" in html
    assert "Okta SCIM Client 1.0.0" in html
    assert html.count('class="badge badge-active"') == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "scopes": ["scim"]}, "This field is required."),
        ({"name": "   ", "scopes": ["scim"]}, "This field is required."),
        ({"name": "x" * 201, "scopes": ["scim"]}, "Field cannot be longer than 200 characters."),
        ({"name": "Okta", "scopes": []}, "Choose at least one permission."),
        ({"name": "Okta", "scopes": ["admin"]}, "is not a valid choice"),
        ({"name": "Okta", "scopes": ["scim"], "expires_on": "2000-01-01"}, "today or later"),
        ({"name": "Okta", "scopes": ["scim"], "expires_on": "tomorrow"}, "Not a valid date"),
    ],
)
def test_generate_form_rejects_invalid_input(app, client, console, data, message):
    console.login()
    rv = client.post("/admin/tokens", data=data, follow_redirects=True)
    # Post/redirect/get: the errors are on a GET page, so Back never resubmits the form.
    assert [r.status_code for r in rv.history] == [303]
    assert rv.request.method == "GET" and rv.request.path == "/admin/tokens"
    assert message in rv.get_data(as_text=True)
    assert 'id="generate-token" open' in rv.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_a_refused_form_keeps_what_was_typed_and_shows_its_errors_once(client, console):
    console.login()
    rv = generate(client, name="Okta SCIM Integration", scopes=(), expires_on="2099-12-31")
    html = client.get(rv.headers["Location"]).get_data(as_text=True)
    assert "Choose at least one permission." in html
    assert 'value="Okta SCIM Integration"' in html and 'value="2099-12-31"' in html
    again = client.get("/admin/tokens").get_data(as_text=True)
    assert "Choose at least one permission." not in again


def test_an_expiry_date_is_listed_as_that_day_not_the_next_midnight(client, console):
    console.login()
    generate_and_reveal(client, name="Okta", expires_on="2099-12-31")
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert ">2099-12-31</time> <span class=\"muted\">(end of day, UTC)</span>" in html
    assert "2100-01-01 00:00 UTC" not in html.replace('title="until 2100-01-01 00:00 UTC"', "")


def test_name_must_be_unique_among_active_tokens_only(client, console):
    console.login()
    generate_and_reveal(client, name="Okta")
    rv = generate(client, name="okta")
    assert rv.status_code == 303
    assert "already exists" in client.get(rv.headers["Location"]).get_data(as_text=True)
    client.post("/admin/tokens/1/revoke")
    assert generate(client, name="Okta").status_code == 302


def test_several_active_tokens_work_side_by_side(client, console):
    console.login()
    old = generate_and_reveal(client, name="Okta (old)")
    new = generate_and_reveal(client, name="Okta (new)")
    assert client.get(SCIM_PROBE, headers=bearer(old)).status_code == 200
    assert client.get(SCIM_PROBE, headers=bearer(new)).status_code == 200


def test_revoke_asks_for_confirmation_then_scim_gets_401_at_once(app, client, console):
    console.login()
    plaintext = generate_and_reveal(client)
    confirm = client.get("/admin/tokens/1/revoke")
    assert confirm.status_code == 200
    assert "Revoke token" in confirm.get_data(as_text=True)
    assert client.get(SCIM_PROBE, headers=bearer(plaintext)).status_code == 200
    rv = client.post("/admin/tokens/1/revoke")
    assert rv.status_code == 302
    assert client.get(SCIM_PROBE, headers=bearer(plaintext)).status_code == 401
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert 'class="badge badge-revoked"' in html
    assert "is revoked" in html


def test_expired_token_gets_401_and_shows_expired(client, console, clock):
    console.login()
    today = clock.now.date()
    plaintext = generate_and_reveal(client, expires_on=today.isoformat())
    clock.now = datetime.combine(today, datetime.min.time()) + timedelta(hours=23, minutes=59)
    assert client.get(SCIM_PROBE, headers=bearer(plaintext)).status_code == 200
    clock.advance(minutes=1)
    assert client.get(SCIM_PROBE, headers=bearer(plaintext)).status_code == 401
    console.login()  # the clock moved past the console session's idle timeout
    assert 'class="badge badge-expired"' in client.get("/admin/tokens").get_data(as_text=True)


def test_admin_never_sees_or_touches_another_organizations_tokens(app, client, console):
    org_b = other_org(app)
    with app.app_context():
        foreign, foreign_plaintext = create_token(org_b, "Org B Okta")
        db.session.commit()
        foreign_id = foreign.id
    console.login()
    assert "Org B Okta" not in client.get("/admin/tokens").get_data(as_text=True)
    assert client.get(f"/admin/tokens/{foreign_id}/revoke").status_code == 404
    assert client.post(f"/admin/tokens/{foreign_id}/revoke").status_code == 404
    assert client.get(f"/admin/tokens/{foreign_id}/created").status_code == 404
    assert client.get(SCIM_PROBE, headers=bearer(foreign_plaintext)).status_code == 200
    # And the same name is free in this organization.
    assert generate(client, name="Org B Okta").status_code == 302


def test_admin_of_another_organization_sees_only_its_own_tokens(app, client, console):
    org_b = other_org(app)
    console.login()
    generate_and_reveal(client, name="Org A token")
    console.logout()
    console.login(console.make_admin("b@other.example", org_id=org_b))
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert "Org A token" not in html
    assert "No tokens yet" in html
    assert client.get("/admin/tokens/1/revoke").status_code == 404
