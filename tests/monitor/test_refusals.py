"""Every 401 in the log says why, in the admin's words, and never holds the secret; the
path as sent is kept; an IdP's lookup is found by ``q`` like the resource it looked for."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from willow.console.organizations import create_organization
from willow.console.tokens import find_token
from willow.console.tokens import revoke_token
from willow.storage.extensions import db
from willow.storage.models import ApiToken
from willow.storage.models import utcnow

NOT_BEARER = "Not a Bearer token: the Authorization header uses"


def refused(client, logged, headers: dict) -> dict:
    rv = client.get("/scim/v2/Users", headers=headers)
    assert rv.status_code == 401
    # The IdP's answer says no more than it did: the reasons are for the admin.
    assert "characters" not in rv.get_data(as_text=True)
    [row] = logged()
    return row


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "No Authorization header: the IdP sent no API token."),
        ("Basic dXNlcjpwYXNz", f"{NOT_BEARER} the Basic scheme."),
        ("SSWS 00abcdef", f"{NOT_BEARER} the SSWS scheme."),
        ("Zq8x 00abcdef", f"{NOT_BEARER} a scheme Willow does not use."),
        ("Bearer ", "Bearer scheme without a token after it."),
    ],
)
def test_a_request_without_bearer_credentials_says_what_was_sent(client, logged, header, reason):
    headers = {"Authorization": header} if header is not None else {}
    row = refused(client, logged, headers)
    assert row["error_detail"] == reason
    assert "dXNlcjpwYXNz" not in json.dumps(row, default=str)


def test_a_token_without_bearer_in_front_is_named(client, logged, make_token):
    plaintext = make_token(name="Okta SCIM Integration")
    row = refused(client, logged, {"Authorization": plaintext})
    assert row["error_detail"].startswith("Not a Bearer token: the API token was sent without")
    assert "it is the active token “Okta SCIM Integration”" in row["error_detail"]
    assert plaintext not in json.dumps(row, default=str)


def test_a_quoted_token_is_recognised_once_the_quotes_are_removed(client, logged, make_token, org):
    plaintext = make_token(name="Okta SCIM Integration")
    row = refused(client, logged, {"Authorization": f'Bearer "{plaintext}"'})
    detail = row["error_detail"]
    assert detail.startswith("Unknown token: 49 characters (a Willow token has 47); wrapped in")
    assert "With quotes, spaces and line breaks removed, it is the active token" in detail
    assert row["organization_id"] == org.id
    assert plaintext not in json.dumps(row, default=str)
    assert plaintext[10:20] not in json.dumps(row, default=str)


def test_a_401_that_names_its_token_is_logged_under_that_token(
    app, client, logged, make_token, console
):
    """The entry's Token agrees with its reason (it said "none or unknown" beside it)."""
    plaintext = make_token(name="Okta SCIM Integration")
    with app.app_context():
        token_id = find_token(plaintext).id
    row = refused(client, logged, {"Authorization": plaintext})
    assert (row["token_id"], row["token_name"]) == (token_id, "Okta SCIM Integration")
    console.login()
    html = client.get(f"/monitor/scim-logs/{row['id']}").get_data(as_text=True)
    assert "none or unknown" not in html
    assert f'Okta SCIM Integration <span class="muted">(id {token_id})</span>' in html


def test_a_401_that_only_resembles_a_token_says_none_matched(client, logged, make_token, console):
    plaintext = make_token(name="JumpCloud")
    row = refused(client, logged, {"Authorization": f"Bearer {plaintext[:-5]}"})
    assert row["token_id"] is None
    console.login()
    html = client.get(f"/monitor/scim-logs/{row['id']}").get_data(as_text=True)
    assert "none matched (Why refused says what was sent)" in html
    assert "none or unknown" not in html


def test_a_token_with_a_literal_line_break_is_described(client, logged, make_token):
    plaintext = make_token(name="Okta")
    row = refused(client, logged, {"Authorization": f"Bearer {plaintext}\\n"})
    assert "a line break in it" in row["error_detail"]
    assert "it is the active token “Okta”" in row["error_detail"]


def test_a_cut_short_token_whose_prefix_matches_says_so(app, client, logged, make_token):
    """A second organization: the row goes to the organization whose token it resembles."""
    with app.app_context():
        second = create_organization("second", "Second")
        db.session.commit()
        second_id = second.id
    plaintext = make_token(org_id=second_id, name="JumpCloud")
    row = refused(client, logged, {"Authorization": f"Bearer {plaintext[:-5]}"})
    detail = row["error_detail"]
    assert detail.startswith("Unknown token: 42 characters (a Willow token has 47).")
    assert f"Its prefix {plaintext[:10]}… matches the active token “JumpCloud”" in detail
    assert "copied incompletely or changed?" in detail
    assert row["organization_id"] == second_id
    assert plaintext[10:40] not in json.dumps(row, default=str)


def test_an_unknown_token_of_another_application_is_described(client, logged):
    row = refused(client, logged, {"Authorization": "Bearer  00aBcD-okta-api-key "})
    detail = row["error_detail"]
    assert "19 characters" in detail and "surrounding whitespace (ignored)" in detail
    assert "it does not start with wsk_" in detail
    assert "okta-api-key" not in json.dumps(row, default=str)


def test_an_unknown_token_whose_prefix_matches_nothing_says_so(client, logged):
    row = refused(client, logged, {"Authorization": "Bearer wsk_" + "x" * 43})
    assert "Its first 10 characters match no token." in row["error_detail"]
    assert "wsk_xxxxxx" not in row["error_detail"]


def test_revoked_and_expired_tokens_are_named_with_when(app, client, logged, make_token):
    revoked = make_token(name="Old Okta")
    expired = make_token(name="Trial")
    with app.app_context():
        revoke_token(find_token(revoked))
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.name == "Trial")
            .values(expires_at=utcnow() - timedelta(days=1))
        )
        db.session.commit()
    client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {revoked}"})
    client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {expired}"})
    first, second = logged()
    assert first["error_detail"].startswith("Revoked token: “Old Okta” (id ")
    assert " revoked 20" in first["error_detail"] and first["error_detail"].endswith(" UTC.")
    assert second["error_detail"].startswith("Expired token: “Trial” (id ")
    assert " expired 20" in second["error_detail"]


def test_the_path_as_sent_is_kept_beside_the_normalised_one(client, token, logged, console):
    rv = client.get("/scim/v2//Users/", headers={"Authorization": f"Bearer {token}"})
    assert rv.status_code == 200
    [row] = logged()
    assert row["path"] == "/scim/v2/Users"
    assert row["notes"][0] == "Path as sent: /scim/v2//Users/ (read as /scim/v2/Users)"
    console.login()
    html = client.get(f"/monitor/scim-logs/{row['id']}").get_data(as_text=True)
    assert 'id="path-as-sent">Sent as <code class="path-as-sent">/scim/v2//Users/</code>' in html


def test_a_path_sent_as_is_gets_no_note(client, token, logged):
    client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    [row] = logged()
    assert not row["notes"]


def test_an_idp_lookup_is_found_by_q_like_the_resource_it_looked_for(
    client, scim, logged, console
):
    missing = scim.get('/Users?filter=userName eq "alice@example.com"')
    assert missing.get_json()["totalResults"] == 0
    alice = scim.post("/Users", {"userName": "alice@example.com"}).get_json()
    scim.get('/Users?filter=userName eq "Alice@Example.com"')
    scim.get('/Groups?filter=displayName eq "Engineering"')
    scim.get('/Users?filter=externalId eq "00u1abc"')
    scim.get('/Users?filter=userName sw "alice"')  # not a lookup: no label
    # In time order: a create's row is written in its own transaction, before queued rows.
    rows = sorted(logged(), key=lambda r: r["created_at"])
    assert [r["resource_label"] for r in rows] == [
        "alice@example.com",
        "alice@example.com",
        "Alice@Example.com",
        "Engineering",
        "00u1abc",
        None,
    ]
    # The lookup that found her carries her id, as her create does.
    assert [r["resource_id"] for r in rows[:3]] == [None, alice["id"], alice["id"]]
    console.login()
    by_name = client.get("/monitor/scim-logs?q=alice").get_data(as_text=True)
    assert "3</strong> matching requests" in by_name
    by_id = client.get(f"/monitor/scim-logs?q={alice['id']}").get_data(as_text=True)
    assert "2</strong> matching requests" in by_id


def test_a_post_search_lookup_is_found_too(scim, logged):
    scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "bob@example.com"',
        },
    )
    [row] = logged()
    assert row["resource_label"] == "bob@example.com"
