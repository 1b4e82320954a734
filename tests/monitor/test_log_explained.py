"""The log list explains every row (issue 23): operations, reasons, warnings, the token and
client filters, response headers, the wrong-path hint and "Copy as curl", over HTTP."""

from __future__ import annotations

import csv
import html as html_text
import io
import re

import pytest
import sqlalchemy as sa

from tests.conftest import SCIM_TYPE
from willow.storage.extensions import db
from willow.storage.models import ApiToken

OKTA = "Okta SCIM Client 1.0.0"
JUMPCLOUD = "JumpCloud SCIM Client"
ENTRA = "Microsoft.Azure.ActiveDirectory.Provisioning"


def _send(client, token, method, path, body=None, agent=OKTA):
    headers = {"Authorization": f"Bearer {token}", "Accept": SCIM_TYPE, "User-Agent": agent}
    kw = {}
    if body is not None:
        headers["Content-Type"] = SCIM_TYPE
        kw["json"] = body
    return client.open(path, method=method, headers=headers, **kw)


def _token_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(ApiToken.id).where(ApiToken.name == name)).one()


def _paths(html: str) -> list[str]:
    return re.findall(r'<td class="path" title="([^"]*)"', html)


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _operations(html: str) -> list[str]:
    return [
        html_text.unescape(re.sub(r"\s+", " ", text).strip())
        for text in re.findall(r'<span class="op-label">(.*?)</span>', html, re.DOTALL)
    ]


@pytest.fixture
def two_tokens(app, make_token):
    return make_token(name="Okta prod"), make_token(name="JumpCloud test")


def test_the_token_filter_keeps_one_tokens_requests_on_the_page_and_in_the_export(
    app, client, console, two_tokens
):
    okta, jumpcloud = two_tokens
    _send(client, okta, "GET", "/scim/v2/Users?startIndex=1&count=2")
    _send(client, jumpcloud, "GET", "/scim/v2/Groups", agent=JUMPCLOUD)
    _send(client, jumpcloud, "GET", "/scim/v2/Schemas", agent=JUMPCLOUD)
    console.login()
    ident = _token_id(app, "JumpCloud test")

    page = client.get(f"/monitor/scim-logs?token={ident}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert sorted(_paths(html)) == ["/scim/v2/Groups", "/scim/v2/Schemas"]
    assert f'<option selected value="{ident}">JumpCloud test</option>' in html
    assert f"export.csv?token={ident}" in html

    rows = _csv(client.get(f"/monitor/scim-logs/export.csv?token={ident}"))
    assert sorted(r["path"] for r in rows) == ["/scim/v2/Groups", "/scim/v2/Schemas"]
    assert {r["token_name"] for r in rows} == {"JumpCloud test"}


@pytest.mark.parametrize(
    ("client_family", "expected"),
    [
        ("okta", ["/scim/v2/Users"]),
        ("jumpcloud", ["/scim/v2/Groups"]),
        ("entra", ["/scim/v2/ResourceTypes"]),
        ("other", ["/scim/v2/Schemas", "/scim/v2/ServiceProviderConfig"]),
        ("ENTRA", ["/scim/v2/ResourceTypes"]),  # hand-typed URLs: any case
    ],
)
def test_the_client_filter_tells_idps_apart_by_user_agent(
    client, console, token, client_family, expected
):
    _send(client, token, "GET", "/scim/v2/Users", agent=OKTA)
    _send(client, token, "GET", "/scim/v2/Groups", agent=JUMPCLOUD)
    _send(client, token, "GET", "/scim/v2/ResourceTypes", agent=ENTRA)
    _send(client, token, "GET", "/scim/v2/Schemas", agent="curl/8.5.0")
    _send(client, token, "GET", "/scim/v2/ServiceProviderConfig", agent="")
    console.login()
    page = client.get(f"/monitor/scim-logs?client={client_family}")
    assert page.status_code == 200
    assert sorted(_paths(page.get_data(as_text=True))) == expected
    rows = _csv(client.get(f"/monitor/scim-logs/export.csv?client={client_family}"))
    assert sorted(r["path"] for r in rows) == expected
    assert {r["client"] for r in rows} == {client_family.lower()}


@pytest.mark.parametrize("query", ["token=abc", "token=999999", "client=onelogin"])
def test_an_unknown_token_or_client_is_a_form_error_not_a_500(client, console, token, query):
    console.login()
    rv = client.get(f"/monitor/scim-logs?{query}")
    assert rv.status_code == 400
    assert "Not a valid choice" in rv.get_data(as_text=True)
    assert client.get(f"/monitor/scim-logs/export.csv?{query}").status_code == 400


def test_response_headers_are_kept_and_shown_on_the_entry_and_in_the_export(
    client, console, token, logged
):
    created = _send(client, token, "POST", "/scim/v2/Users", {"userName": "jane@example.com"})
    assert created.status_code == 201
    (row,) = logged(method="POST")
    headers = row["response_headers"]
    assert headers["Location"] == created.headers["Location"]
    assert headers["ETag"] == created.headers["ETag"]
    assert headers["Content-Type"].startswith(SCIM_TYPE)
    assert not any(name.lower() == "set-cookie" for name in headers)

    console.login()
    html = client.get(f"/monitor/scim-logs/{row['id']}").get_data(as_text=True)
    section = html[html.index('id="response-headers"') :]
    assert "<dt>Location</dt>" in section
    assert created.headers["Location"] in section
    (exported,) = [
        r for r in _csv(client.get("/monitor/scim-logs/export.csv")) if r["method"] == "POST"
    ]
    assert created.headers["Location"] in exported["response_headers"]


def test_each_row_says_what_the_request_did_and_why_a_failure_failed(
    client, console, token, logged
):
    user = _send(client, token, "POST", "/scim/v2/Users", {"userName": "jane@example.com"})
    uid = user.get_json()["id"]
    _send(client, token, "POST", "/scim/v2/Users", {"userName": "jane@example.com"})  # 409
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
    _send(
        client,
        token,
        "PATCH",
        f"/scim/v2/Users/{uid}",
        {**patch, "Operations": [{"op": "replace", "path": "name.givenName", "value": "Jane"}]},
    )
    _send(
        client,
        token,
        "PATCH",
        f"/scim/v2/Users/{uid}",
        {**patch, "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    _send(client, token, "GET", '/scim/v2/Users?filter=userName eq "jane@example.com"')
    _send(client, token, "GET", '/scim/v2/Users?filter=userName eq "nobody@example.com"')
    console.login()
    html = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert _operations(html) == [
        'Lookup userName = "nobody@example.com" → not found',
        'Lookup userName = "jane@example.com" → found',
        "Deactivated jane@example.com",
        "Updated name of jane@example.com",
        "Create user",
        "Created user jane@example.com",
    ]
    # The 409's reason is on the row itself, not only in a title.
    reasons = re.findall(r'<span class="reason refusal">(.*?)</span>', html)
    assert len(reasons) == 1 and "uniqueness" in reasons[0]


def test_a_group_patch_that_only_skipped_an_unknown_member_is_marked_and_says_no_change(
    client, console, token, logged
):
    group = _send(client, token, "POST", "/scim/v2/Groups", {"displayName": "Engineering"})
    gid = group.get_json()["id"]
    rv = _send(
        client,
        token,
        "PATCH",
        f"/scim/v2/Groups/{gid}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "nobody"}]}],
        },
    )
    assert rv.status_code in (200, 204)
    (row,) = logged(method="PATCH")
    assert row["warnings"]
    console.login()
    html = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert "⚠ 1 warning" in html
    assert _operations(html)[0] == "No change"
    entry = client.get(f"/monitor/scim-logs/{row['id']}").get_data(as_text=True)
    assert re.search(r'id="no-change">No change: see the warnings below', entry)
    assert 'id="warnings"' in entry


def test_a_wrong_base_url_is_explained_on_its_log_entry(client, console, token, logged):
    _send(client, token, "GET", "/scim/v2/v2/Users")
    (row,) = logged(status_code=404)
    assert "/v2 twice" in row["error_detail"]
    console.login()
    html = html_text.unescape(client.get("/monitor/scim-logs").get_data(as_text=True))
    assert "The base URL has /v2 twice: did you mean /scim/v2/Users?" in html


def test_copy_as_curl_names_token_as_a_variable_and_says_what_the_log_changed(
    client, console, token, logged
):
    _send(
        client,
        token,
        "POST",
        "/scim/v2/Users",
        {"userName": "o'brien@example.com", "password": "hunter2-secret"},
    )
    (row,) = logged(method="POST")
    console.login()
    html = client.get(f"/monitor/scim-logs/{row['id']}").get_data(as_text=True)
    command = re.search(r'<pre class="payload" id="curl-command">(.*?)</pre>', html, re.DOTALL)
    text = command.group(1)
    assert "Bearer $TOKEN" in text
    assert token not in html
    assert "hunter2" not in html
    assert "o&#39;\\&#39;&#39;brien" in text  # the quote closed, escaped and reopened
    assert 'id="copy-curl"' in html and 'data-copy-target="curl-command"' in html
    assert "redacted in the log" in html
