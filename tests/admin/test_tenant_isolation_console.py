"""Tenant isolation in the console: organization A's console users never see organization
B's data. Every console route that takes an id answers 404 for B's ids (never 403, which
would confirm they exist), and lists, searches, log details and the CSV export hold none
of B's rows."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import ApiToken
from willow.storage.models import ConsoleSession
from willow.storage.models import ConsoleUser
from willow.storage.models import Group
from willow.storage.models import ScimRequestLog
from willow.storage.models import User

SCIM = "application/scim+json"
#: Strings that only organization B's data contains.
B_MARKERS = ("bravo-user@b-corp.example", "Bravo Team", "Bravo Okta", "bravo-admin@b-corp.example")
#: Console blueprints; every one of their routes is swept.
CONSOLE_BLUEPRINTS = {"admin", "monitor", "sso"}
#: Steps of the SSO sign-in flow rather than pages: without SSO configured (start) or a
#: sign-in in progress (callback) they answer a refusal page, checked for B's data too.
FLOW_STEPS = {"sso.start": 404, "sso.callback": 400}


def provision(client, token: str, user_name: str, group_name: str) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
    user = client.post(
        "/scim/v2/Users",
        headers=headers,
        data=json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "emails": [{"value": user_name, "primary": True}],
            }
        ),
    )
    assert user.status_code == 201, user.get_data(as_text=True)
    group = client.post(
        "/scim/v2/Groups",
        headers=headers,
        data=json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": group_name,
                "members": [{"value": user.get_json()["id"]}],
            }
        ),
    )
    assert group.status_code == 201, group.get_data(as_text=True)
    return user.get_json()["id"], group.get_json()["id"]


@pytest.fixture
def two_orgs(app, client, console, directory, make_token):
    """A (``default``, signed in as its admin) and B, each with a token, a user, a group,
    request-log rows and a signed-in console user. Returns B's ids by URL argument name."""
    b_org = directory.other_org("bravo")
    a_token = make_token(name="Alpha Okta")
    b_token = make_token(org_id=b_org, name="Bravo Okta")
    provision(client, a_token, "alpha-user@a-corp.example", "Alpha Team")
    b_user, b_group = provision(client, b_token, "bravo-user@b-corp.example", "Bravo Team")
    b_admin = console.make_admin("bravo-admin@b-corp.example", org_id=b_org)
    app.test_client().post(
        "/admin/login", data={"email": b_admin, "password": "correct horse battery staple"}
    )
    console.login()
    app.extensions["willow_request_log"].flush()
    with app.app_context():
        b_log = db.session.scalars(
            sa.select(ScimRequestLog.id).where(ScimRequestLog.organization_id == b_org)
        ).first()
        b_token_id = db.session.scalars(
            sa.select(ApiToken.id).where(ApiToken.organization_id == b_org)
        ).one()
        b_session = db.session.scalars(
            sa.select(ConsoleSession.id)
            .join(ConsoleUser, ConsoleUser.id == ConsoleSession.console_user_id)
            .where(ConsoleUser.organization_id == b_org)
        ).one()
    assert b_log is not None
    return {
        "token_id": b_token_id,
        "user_id": b_user,
        "group_id": b_group,
        "entry_id": b_log,
        "session_id": b_session,
    }


def console_rules(app):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint in CONSOLE_BLUEPRINTS:
            yield rule


def assert_no_b_data(rv, what: str) -> None:
    body = rv.get_data(as_text=True)
    for marker in B_MARKERS:
        assert marker not in body, f"{what} shows {marker!r}"


def test_every_console_route_with_an_id_answers_404_for_another_organizations_ids(
    app, client, two_orgs
):
    swept = 0
    for rule in console_rules(app):
        if not rule.arguments:
            continue
        unknown = rule.arguments - two_orgs.keys()
        assert not unknown, f"{rule.rule}: add an id of B for {unknown} to this sweep"
        url = rule.build({name: two_orgs[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rv = client.open(url, method=method)
            assert rv.status_code == 404, f"{method} {url} answered {rv.status_code}"
            assert_no_b_data(rv, f"{method} {url}")
            swept += 1
    assert swept >= 8
    # Nothing of B's was changed by the sweep.
    with app.app_context():
        assert db.session.get(ApiToken, two_orgs["token_id"]).revoked_at is None
        assert db.session.get(ConsoleSession, two_orgs["session_id"]) is not None
        assert db.session.get(Group, two_orgs["group_id"]).role is None
        assert db.session.get(User, two_orgs["user_id"]).active is True


def test_every_console_page_without_an_id_shows_none_of_another_organizations_data(
    app, client, two_orgs
):
    pages = 0
    for rule in console_rules(app):
        if rule.arguments or "GET" not in rule.methods:
            continue
        rv = client.get(rule.rule, follow_redirects=True)
        expected = FLOW_STEPS.get(rule.endpoint, 200)
        assert rv.status_code == expected, f"GET {rule.rule} answered {rv.status_code}"
        assert_no_b_data(rv, f"GET {rule.rule}")
        pages += 1
    assert pages >= 8


@pytest.mark.parametrize(
    "url",
    [
        "/admin/directory/users?q=bravo",
        "/admin/directory/users?q=b-corp.example&status=active",
        "/admin/directory/groups?q=Bravo",
        "/monitor/scim-logs?q=bravo",
        "/monitor/scim-logs?q=Bravo+T&resource_type=Group",
        "/monitor/scim-logs?preset=all",
        "/monitor/scim-logs/export.csv",
        "/monitor/scim-logs/export.csv?q=bravo",
    ],
)
def test_searches_and_exports_find_none_of_another_organizations_rows(client, two_orgs, url):
    rv = client.get(url)
    assert rv.status_code == 200
    assert_no_b_data(rv, url)


def test_own_lists_and_exports_do_show_this_organizations_rows(client, two_orgs):
    """The sweep above is only meaningful if the same pages do show A's data."""
    assert "alpha-user@a-corp.example" in client.get("/admin/directory/users").get_data(
        as_text=True
    )
    assert "Alpha Team" in client.get("/admin/directory/groups").get_data(as_text=True)
    assert "Alpha Okta" in client.get("/admin/tokens").get_data(as_text=True)
    assert "alpha-user@a-corp.example" in client.get("/monitor/scim-logs/export.csv").get_data(
        as_text=True
    )


def test_log_detail_lists_no_related_requests_of_another_organization(
    app, client, two_orgs, make_token
):
    """A's log entry about a resource id that B's log also has: only A's requests are
    related to it."""
    b_user = two_orgs["user_id"]
    a_token = make_token(name="Alpha probe")
    # A asks for B's user: 404, logged in A's organization under B's user id.
    rv = client.get(f"/scim/v2/Users/{b_user}", headers={"Authorization": f"Bearer {a_token}"})
    assert rv.status_code == 404
    app.extensions["willow_request_log"].flush()
    with app.app_context():
        a_org = db.session.scalars(
            sa.select(ApiToken.organization_id).where(ApiToken.name == "Alpha probe")
        ).one()
        a_entry = db.session.scalars(
            sa.select(ScimRequestLog.id).where(
                ScimRequestLog.organization_id == a_org, ScimRequestLog.status_code == 404
            )
        ).first()
    assert a_entry is not None
    rv = client.get(f"/monitor/scim-logs/{a_entry}")
    assert rv.status_code == 200
    assert_no_b_data(rv, "A's log detail")
    with app.app_context():
        b_entries = db.session.scalars(
            sa.select(ScimRequestLog.id).where(ScimRequestLog.organization_id != a_org)
        ).all()
    html = rv.get_data(as_text=True)
    for entry_id in b_entries:
        assert f'/monitor/scim-logs/{entry_id}"' not in html
