"""HTTP behaviour of /Users (RFC 7644 §3.3-§3.6), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_body(user_name: str = "test.user@okta.local", **extra) -> dict:
    body = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "active": True,
    }
    body.update(extra)
    return body


def create(scim, user_name: str = "test.user@okta.local", **extra) -> dict:
    rv = scim.post("/Users", user_body(user_name, **extra))
    assert rv.status_code == 201, rv.get_json()
    return rv.get_json()


def patch_ops(*operations) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def assert_error(rv, status: int, scim_type: str | None = None) -> dict:
    assert rv.status_code == status, rv.get_data(as_text=True)
    assert rv.mimetype == "application/scim+json"
    body = rv.get_json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type:
        assert body.get("scimType") == scim_type
    return body


def test_create_returns_201_with_location_etag_and_the_full_user(scim):
    rv = scim.post(
        "/Users",
        user_body(
            externalId="00ujl29u0le5T6Aj10h7", password="1mz050nq", groups=[], locale="en-US"
        ),
    )
    assert rv.status_code == 201
    assert rv.mimetype == "application/scim+json"
    body = rv.get_json()
    assert body["id"] and body["id"] != "00ujl29u0le5T6Aj10h7"
    assert body["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert body["userName"] == "test.user@okta.local"
    assert body["name"] == {"givenName": "Test", "familyName": "User"}
    assert body["emails"] == [{"value": "test.user@okta.local", "type": "work", "primary": True}]
    assert body["active"] is True and body["locale"] == "en-US"
    assert "password" not in body
    assert body["meta"]["resourceType"] == "User"
    assert rv.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert rv.headers["ETag"] == body["meta"]["version"] == 'W/"1"'
    assert body["schemas"] == [USER_SCHEMA]


def test_password_is_never_returned_or_stored(app, scim):
    user = create(scim, password="hunter2-secret")
    got = scim.get(f"/Users/{user['id']}").get_data(as_text=True)
    assert "hunter2-secret" not in got and "password" not in got
    from willow.storage.extensions import db

    with app.app_context():
        dump = "\n".join(
            str(row)
            for table in db.metadata.sorted_tables
            for row in db.session.execute(table.select())
            if table.name != "scim_request_logs"
        )
    assert "hunter2-secret" not in dump


@pytest.mark.parametrize("second", ["test.user@okta.local", "TEST.USER@OKTA.LOCAL"])
def test_duplicate_user_name_is_409_uniqueness_case_insensitively(scim, second):
    create(scim)
    rv = scim.post("/Users", user_body(second))
    assert_error(rv, 409, "uniqueness")


def test_user_name_case_is_kept_and_filters_match_any_case(scim):
    create(scim, "Runscope300Hfluaklab151@Example.com")
    rv = scim.get('/Users?filter=userName eq "RUNSCOPE300HFLUAKLAB151@EXAMPLE.COM"')
    body = rv.get_json()
    assert body["totalResults"] == 1
    assert body["Resources"][0]["userName"] == "Runscope300Hfluaklab151@Example.com"


def test_get_unknown_user_is_scim_404(scim):
    assert_error(scim.get("/Users/010101001010101011001010101011"), 404)


def test_list_is_a_list_response_with_integer_counts_and_stable_order(scim):
    ids = [create(scim, f"user{i}@example.com")["id"] for i in range(5)]
    rv = scim.get("/Users?startIndex=1&count=2")
    body = rv.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 5 and body["itemsPerPage"] == 2 and body["startIndex"] == 1
    pages = [
        scim.get(f"/Users?startIndex={start}&count=2").get_json()["Resources"]
        for start in (1, 3, 5)
    ]
    assert [u["id"] for page in pages for u in page] == ids


@pytest.mark.parametrize(
    ("query", "items", "start"),
    [
        ("count=0", 0, 1),
        ("count=-3", 0, 1),
        ("startIndex=0&count=2", 2, 1),
        ("startIndex=-5&count=10", 3, 1),
        ("startIndex=3&count=10", 1, 3),
        ("startIndex=10", 0, 10),
    ],
)
def test_paging_edges(scim, query, items, start):
    for i in range(3):
        create(scim, f"p{i}@example.com")
    body = scim.get(f"/Users?{query}").get_json()
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == items == len(body["Resources"])
    assert body["startIndex"] == start


@pytest.mark.parametrize("query", ["count=abc", "startIndex=x", "sortOrder=sideways"])
def test_bad_paging_parameters_are_400(scim, query):
    assert_error(scim.get(f"/Users?{query}"), 400, "invalidValue")


def test_count_is_capped_at_the_configured_maximum(app, scim):
    app.config["WILLOW_SCIM_MAX_RESULTS"] = 2
    for i in range(3):
        create(scim, f"cap{i}@example.com")
    body = scim.get("/Users?count=50").get_json()
    assert body["itemsPerPage"] == 2 and body["totalResults"] == 3


def test_no_match_is_an_empty_list_response_not_404(scim):
    rv = scim.get("/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22")
    assert rv.status_code == 200
    body = rv.get_json()
    assert body["totalResults"] == 0 and body["Resources"] == [] and body["itemsPerPage"] == 0


def test_invalid_filter_is_400_invalid_filter(scim):
    assert_error(scim.get("/Users?filter=userName eq"), 400, "invalidFilter")
    assert_error(scim.get('/Users?filter=nosuchattr eq "x"'), 400, "invalidFilter")


def test_filters_by_external_id_and_work_email(scim):
    create(scim, "a@example.com", externalId="0a21f0f2-8d2a")
    create(scim, "b@example.com")
    assert scim.get('/Users?filter=externalId eq "0a21f0f2-8d2a"').get_json()["totalResults"] == 1
    rv = scim.get('/Users?filter=emails[type eq "work"].value eq "B@example.com"')
    assert [u["userName"] for u in rv.get_json()["Resources"]] == ["b@example.com"]


def test_sort_by_user_name_descending(scim):
    for name in ("b@x.io", "c@x.io", "a@x.io"):
        create(scim, name)
    rv = scim.get("/Users?sortBy=userName&sortOrder=descending")
    assert [u["userName"] for u in rv.get_json()["Resources"]] == ["c@x.io", "b@x.io", "a@x.io"]


def test_attributes_and_excluded_attributes_project_the_response(scim):
    user = create(scim, externalId="ext-1")
    rv = scim.get(f"/Users/{user['id']}?attributes=userName,name.givenName")
    assert rv.get_json() == {
        "schemas": [USER_SCHEMA],
        "id": user["id"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test"},
    }
    rv = scim.get(f"/Users/{user['id']}?excludedAttributes=emails,meta")
    body = rv.get_json()
    assert "emails" not in body and "meta" not in body and body["externalId"] == "ext-1"
    listed = scim.get("/Users?attributes=userName").get_json()["Resources"][0]
    assert set(listed) == {"schemas", "id", "userName"}


def test_put_replaces_writable_attributes_and_keeps_active_when_omitted(scim):
    user = create(scim, title="Engineer", nickName="tess")
    put = {
        "schemas": [USER_SCHEMA],
        "id": user["id"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "", "familyName": "User"},
        "emails": [
            {
                "primary": True,
                "value": "test.user@okta.local",
                "type": "work",
                "display": "test.user@okta.local",
            }
        ],
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    scim.patch(f"/Users/{user['id']}", patch_ops({"op": "replace", "value": {"active": False}}))
    rv = scim.put(f"/Users/{user['id']}", put)
    assert rv.status_code == 200, rv.get_json()
    body = rv.get_json()
    assert body["name"] == {"givenName": "Another", "middleName": "", "familyName": "User"}
    assert "title" not in body and "nickName" not in body
    assert body["active"] is False
    assert rv.headers["ETag"] == 'W/"3"'


def test_put_can_rename_but_not_onto_another_user_name(scim):
    create(scim, "taken@example.com")
    user = create(scim, "old@example.com")
    assert_error(
        scim.put(f"/Users/{user['id']}", user_body("TAKEN@example.com")), 409, "uniqueness"
    )
    rv = scim.put(f"/Users/{user['id']}", user_body("New@example.com"))
    assert rv.get_json()["userName"] == "New@example.com"


def test_patch_deactivate_without_path_keeps_the_account_readable_and_filterable(scim):
    user = create(scim)
    rv = scim.patch(
        f"/Users/{user['id']}", patch_ops({"op": "replace", "value": {"active": False}})
    )
    assert rv.status_code == 200
    assert rv.get_json()["active"] is False
    assert rv.get_json()["name"] == {"givenName": "Test", "familyName": "User"}
    assert scim.get(f"/Users/{user['id']}").get_json()["active"] is False
    found = scim.get('/Users?filter=userName eq "test.user@okta.local"').get_json()
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False
    rv = scim.patch(f"/Users/{user['id']}", patch_ops({"op": "replace", "value": {"active": True}}))
    assert rv.get_json()["active"] is True


def test_entra_patch_with_capitalised_ops_string_booleans_and_value_paths(scim):
    user = create(scim)
    rv = scim.patch(
        f"/Users/{user['id']}",
        patch_ops(
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "R&D"},
            {"op": "Replace", "path": "active", "value": "False"},
        ),
    )
    assert rv.status_code == 200, rv.get_json()
    body = rv.get_json()
    assert body["emails"] == [
        {"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}
    ]
    assert body["name"]["familyName"] == "updatedFamilyName"
    assert body[ENTERPRISE]["department"] == "R&D"
    assert ENTERPRISE in body["schemas"]
    assert body["active"] is False


def test_patch_errors(scim):
    user = create(scim)
    url = f"/Users/{user['id']}"
    assert_error(
        scim.patch(url, patch_ops({"op": "remove", "path": "userName"})), 400, "mutability"
    )
    assert_error(
        scim.patch(url, patch_ops({"op": "replace", "path": "nosuch", "value": 1})),
        400,
        "invalidPath",
    )
    assert_error(scim.patch(url, patch_ops({"op": "remove"})), 400, "noTarget")
    assert_error(scim.patch(url, patch_ops({"op": "jump", "path": "title", "value": "x"})), 400)
    assert_error(scim.patch(url, {"schemas": [PATCH_SCHEMA]}), 400)


def test_patch_is_atomic_when_a_later_operation_fails(scim):
    user = create(scim)
    url = f"/Users/{user['id']}"
    rv = scim.patch(
        url,
        patch_ops(
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "remove", "path": "userName"},
        ),
    )
    assert rv.status_code == 400
    assert "title" not in scim.get(url).get_json()


def test_delete_tombstones_the_user_and_frees_the_user_name(app, scim):
    user = create(scim)
    url = f"/Users/{user['id']}"
    assert scim.delete(url).status_code == 204
    for rv in (
        scim.get(url),
        scim.put(url, user_body()),
        scim.delete(url),
        scim.patch(url, patch_ops({"op": "replace", "value": {"active": True}})),
    ):
        assert_error(rv, 404)
    assert (
        scim.get('/Users?filter=userName eq "test.user@okta.local"').get_json()["totalResults"] == 0
    )
    again = create(scim)
    assert again["id"] != user["id"]
    from willow.storage.extensions import db
    from willow.storage.models import User

    with app.app_context():
        kept = db.session.get(User, user["id"])
        assert kept is not None and kept.deleted_at is not None and kept.active is False


def test_if_match_stale_version_is_412(scim):
    user = create(scim)
    url = f"/Users/{user['id']}"
    stale = {"If-Match": 'W/"0"'}
    assert_error(scim.put(url, user_body(), headers=stale), 412)
    assert_error(
        scim.patch(url, patch_ops({"op": "replace", "path": "title", "value": "x"}), headers=stale),
        412,
    )
    assert_error(scim.delete(url, headers=stale), 412)
    fresh = {"If-Match": scim.get(url).headers["ETag"]}
    assert scim.put(url, user_body(), headers=fresh).status_code == 200


def test_an_id_from_another_organization_is_404_on_every_verb(app, scim, client, make_token):
    from willow.console.organizations import create_organization
    from willow.storage.extensions import db

    with app.app_context():
        other_org = create_organization("other", "Other").id
        db.session.commit()
    user = create(scim)
    other = type(scim)(client, make_token(other_org))
    url = f"/Users/{user['id']}"
    for rv in (
        other.get(url),
        other.put(url, user_body()),
        other.delete(url),
        other.patch(url, patch_ops({"op": "replace", "path": "title", "value": "x"})),
    ):
        assert_error(rv, 404)
    assert other.get("/Users").get_json()["totalResults"] == 0
    # the same userName is free in another organization
    assert other.post("/Users", user_body()).status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type", "status", "scim_type"),
    [
        ("{not json", "application/scim+json", 400, "invalidSyntax"),
        ("[1, 2]", "application/json", 400, "invalidSyntax"),
        ("", "application/scim+json", 400, "invalidSyntax"),
        ("userName=x", "application/x-www-form-urlencoded", 415, None),
        ('{"userName": 42}', "application/scim+json", 400, "invalidValue"),
        ('{"name": {"givenName": "x"}}', "application/scim+json", 400, "invalidValue"),
        ('{"userName": "x", "emails": "x@y"}', "application/json", 400, "invalidValue"),
    ],
)
def test_bad_bodies_get_scim_errors(scim, body, content_type, status, scim_type):
    rv = scim.post("/Users", body, headers={"Content-Type": content_type})
    assert_error(rv, status, scim_type)


def test_oversized_body_is_413(app, scim):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    rv = scim.post("/Users", user_body(title="x" * 2000))
    assert_error(rv, 413)


def test_too_long_value_is_400_not_a_database_error(scim):
    assert_error(scim.post("/Users", user_body("a" * 300 + "@example.com")), 400, "invalidValue")


def test_post_with_application_json_and_get_with_a_content_type_are_accepted(scim):
    rv = scim.post("/Users", user_body(), headers={"Content-Type": "application/json"})
    assert rv.status_code == 201
    rv = scim.get("/Users", headers={"Content-Type": "application/scim+json; charset=utf-8"})
    assert rv.status_code == 200


def test_unknown_schemas_read_only_and_unknown_extension_attributes_are_ignored(scim):
    body = user_body(
        schemas=[USER_SCHEMA, ENTERPRISE, "urn:okta:custom:user:1.0"],
        meta={"resourceType": "User"},
        roles=[],
        groups=[{"value": "x"}],
        id="client-chosen",
        **{
            "urn:okta:custom:user:1.0": {"favourite": "tea"},
            ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "boss-id"}},
        },
    )
    rv = scim.post("/Users", body)
    assert rv.status_code == 201, rv.get_json()
    got = rv.get_json()
    assert got["id"] != "client-chosen"
    assert "urn:okta:custom:user:1.0" not in got
    assert got[ENTERPRISE] == {"employeeNumber": "701984", "manager": {"value": "boss-id"}}


def test_user_groups_attribute_and_groups_value_filter(scim):
    user = create(scim)
    group = scim.post(
        "/Groups", {"displayName": "Engineering", "members": [{"value": user["id"]}]}
    ).get_json()
    got = scim.get(f"/Users/{user['id']}").get_json()
    assert got["groups"] == [
        {
            "value": group["id"],
            "$ref": group["meta"]["location"],
            "display": "Engineering",
            "type": "direct",
        }
    ]
    rv = scim.get(f'/Users?filter=groups.value eq "{group["id"]}"')
    assert [u["id"] for u in rv.get_json()["Resources"]] == [user["id"]]


def test_search_endpoints_take_the_query_in_the_body(scim):
    create(scim, "alice@example.com")
    create(scim, "bob@example.com")
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "ali"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    for path in ("/Users/.search", "/.search"):
        rv = scim.post(path, body)
        assert rv.status_code == 200, rv.get_json()
        assert [u["userName"] for u in rv.get_json()["Resources"]] == ["alice@example.com"]


@pytest.mark.parametrize("path", ["/Users/", "//Users", "/Users//"])
def test_trailing_and_doubled_slashes_route_without_redirect(scim, path):
    assert scim.get(path).status_code == 200


def test_unsupported_method_is_scim_405_with_allow(scim):
    rv = scim.client.put("/scim/v2/Users", headers=scim.headers())
    assert_error(rv, 405)
    assert set(rv.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_concurrent_creates_of_one_user_name_end_in_exactly_one_201(app, scim, token):
    """The unique index decides races: 8 threads POST the same userName (in varied case)."""
    import threading

    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        actions = type(scim)(app.test_client(), token)
        barrier.wait()
        name = "race@example.com" if i % 2 else "RACE@example.com"
        statuses.append(actions.post("/Users", user_body(name)).status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert scim.get('/Users?filter=userName eq "race@example.com"').get_json()["totalResults"] == 1


@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_users_without_the_sort_attribute_come_last_in_either_order(scim, order):
    create(scim, "none@x.io")
    create(scim, "b@x.io", title="B")
    create(scim, "a@x.io", title="A")
    rv = scim.get(f"/Users?sortBy=title&sortOrder={order}")
    names = [u["userName"] for u in rv.get_json()["Resources"]]
    expected = ["a@x.io", "b@x.io"] if order == "ascending" else ["b@x.io", "a@x.io"]
    assert names == expected + ["none@x.io"]


def test_case_insensitive_filters_fold_non_ascii_letters(scim):
    create(scim, "zoe@example.com", displayName="ÄRZTE Team")
    rv = scim.get('/Users?filter=displayName eq "ärzte team"')
    assert rv.get_json()["totalResults"] == 1


@pytest.mark.parametrize(
    "body",
    [
        user_body("nul\u0000@example.com"),
        user_body(displayName="A\u0000B"),
        user_body(emails=[{"value": "x@example.com", "display": "\ud800"}]),
        user_body(nickName="\udfff"),
        user_body(shoeSize="\u0000"),
    ],
    ids=["userName", "displayName", "email display", "lone low surrogate", "ignored attribute"],
)
def test_text_the_database_cannot_hold_is_400_invalid_value(scim, body):
    assert_error(scim.post("/Users", body), 400, "invalidValue")
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_text_the_database_cannot_hold_is_refused_on_put_patch_and_search(scim):
    user = create(scim)
    url = f"/Users/{user['id']}"
    assert_error(scim.put(url, user_body(title="\u0000")), 400, "invalidValue")
    rv = scim.patch(url, patch_ops({"op": "replace", "path": "title", "value": "\ud800x"}))
    assert_error(rv, 400, "invalidValue")
    rv = scim.post("/Users/.search", {"filter": 'userName eq "\u0000"'})
    assert_error(rv, 400, "invalidValue")
    assert_error(scim.get('/Users?filter=userName eq "%00"'), 400, "invalidFilter")
    assert_error(scim.get('/Users?filter=userName eq "\\ud800"'), 400, "invalidFilter")
    assert scim.get(url).get_json()["meta"]["version"] == 'W/"1"'


def test_an_id_with_a_nul_character_is_404(scim):
    assert_error(scim.get("/Users/a%00b"), 404)
    assert_error(scim.get("/Groups/a%00b"), 404)
    assert_error(scim.delete("/Users/a%00b"), 404)


def test_a_filter_value_beyond_the_basic_plane_matches_when_escaped(scim):
    create(scim, "smile@example.com", displayName="😀 Smile")
    rv = scim.get('/Users?filter=displayName sw "\\ud83d\\ude00"')
    assert rv.status_code == 200 and rv.get_json()["totalResults"] == 1


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "active"},
        {"op": "replace", "path": "active", "value": None},
        {"op": "replace", "value": {"active": None}},
    ],
)
def test_removing_active_is_400_mutability_and_changes_nothing(scim, operation):
    """Every account is active or not; a removal used to answer 200 and change nothing
    but the version."""
    user = create(scim)
    rv = scim.patch(f"/Users/{user['id']}", patch_ops(operation))
    assert "replace it with true or false" in assert_error(rv, 400, "mutability")["detail"]
    after = scim.get(f"/Users/{user['id']}").get_json()
    assert after["active"] is True and after["meta"]["version"] == user["meta"]["version"]


def test_patch_of_the_whole_enterprise_extension_with_its_schemas_key(scim):
    """scim2-tester (and any client serialising the extension as a model) sends the
    extension's own ``schemas`` inside its value."""
    user = create(scim)
    value = {"schemas": [ENTERPRISE], "department": "Ops", "manager": {"value": "m1"}}
    rv = scim.patch(
        f"/Users/{user['id']}", patch_ops({"op": "add", "path": ENTERPRISE, "value": value})
    )
    assert rv.status_code == 200, rv.get_json()
    assert rv.get_json()[ENTERPRISE] == {"department": "Ops", "manager": {"value": "m1"}}


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_if_none_match_on_get_answers_304_when_the_version_is_current(scim, resource):
    """RFC 7644 §3.14 and RFC 9110 §13.1.2 (weak comparison; ``*`` matches any)."""
    if resource == "Users":
        url = f"/Users/{create(scim)['id']}"
    else:
        url = f"/Groups/{scim.post('/Groups', {'displayName': 'Ops'}).get_json()['id']}"
    etag = scim.get(url).headers["ETag"]
    for header in (etag, etag.removeprefix("W/"), f'"nope", {etag}', "*"):
        rv = scim.get(url, headers={"If-None-Match": header})
        assert rv.status_code == 304, header
        assert rv.data == b"" and rv.headers["ETag"] == etag
    assert scim.get(url, headers={"If-None-Match": 'W/"0"'}).status_code == 200


def test_if_none_match_on_a_write_is_412_when_it_matches(scim):
    user = create(scim)
    url = f"/Users/{user['id']}"
    assert_error(scim.put(url, user_body(), headers={"If-None-Match": "*"}), 412)
    etag = {"If-None-Match": user["meta"]["version"]}
    rv = scim.patch(url, patch_ops({"op": "replace", "path": "title", "value": "x"}), headers=etag)
    assert_error(rv, 412)
    assert_error(scim.delete(url, headers=etag), 412)
    assert scim.get(url).get_json()["meta"]["version"] == user["meta"]["version"]
    assert scim.put(url, user_body(), headers={"If-None-Match": 'W/"0"'}).status_code == 200


def test_401_challenges_follow_rfc_6750(client, make_token, app):
    rv = client.get("/scim/v2/Users")
    assert rv.headers["WWW-Authenticate"] == 'Bearer realm="Willow SCIM"'
    rv = client.get("/scim/v2/Users", headers={"Authorization": "Bearer wsk_nope"})
    assert rv.headers["WWW-Authenticate"] == 'Bearer realm="Willow SCIM", error="invalid_token"'
    assert_error(rv, 401)


def test_entra_manager_given_as_a_bare_id_is_read_as_its_value(scim):
    """Entra ID sends ``"value": "<manager id>"`` for the complex manager attribute."""
    user = create(scim)
    path = f"{ENTERPRISE}:manager"
    rv = scim.patch(
        f"/Users/{user['id']}", patch_ops({"op": "Add", "path": path, "value": "2c2f6fb8-254f"})
    )
    assert rv.status_code == 200, rv.get_json()
    assert rv.get_json()[ENTERPRISE]["manager"] == {"value": "2c2f6fb8-254f"}
    rv = scim.patch(f"/Users/{user['id']}", patch_ops({"op": "Remove", "path": path}))
    assert ENTERPRISE not in rv.get_json()
    rv = scim.post("/Users", user_body("m2@example.com", **{ENTERPRISE: {"manager": "boss"}}))
    assert rv.get_json()[ENTERPRISE]["manager"] == {"value": "boss"}


@pytest.mark.parametrize("attribute", ["emails", "phoneNumbers", "ims", "roles"])
def test_primary_reads_back_as_written_true_false_or_absent(scim, attribute):
    """RFC 7643 §2.4: what a client writes reads back as written (a conformance suite
    compares them); ``primary: false`` is not dropped."""
    values = [
        {"value": "a@example.com", "type": "work", "primary": True},
        {"value": "b@example.com", "type": "home", "primary": False},
        {"value": "c@example.com", "type": "other"},
    ]
    user = create(scim, **{attribute: values})
    assert user[attribute] == values
    assert scim.get(f"/Users/{user['id']}").get_json()[attribute] == values
    path = f'{attribute}[type eq "other"].primary'
    rv = scim.patch(
        f"/Users/{user['id']}", patch_ops({"op": "replace", "path": path, "value": False})
    )
    assert rv.get_json()[attribute][2] == {**values[2], "primary": False}


def test_primary_false_is_not_matched_as_true_and_sorts_after_the_primary(scim):
    user = create(
        scim,
        "p@example.com",
        emails=[
            {"value": "z-not-primary@example.com", "primary": False},
            {"value": "a-primary@example.com", "primary": True},
        ],
    )
    rv = scim.get('/Users?filter=emails[primary eq true].value eq "a-primary@example.com"')
    assert [u["id"] for u in rv.get_json()["Resources"]] == [user["id"]]
    rv = scim.get('/Users?filter=emails[primary eq true].value eq "z-not-primary@example.com"')
    assert rv.get_json()["totalResults"] == 0


def test_read_only_manager_display_name_sent_by_a_client_is_ignored(scim):
    """RFC 7643 §4.3: manager.displayName is read-only: not stored, not echoed."""
    manager = {"value": "boss-id", "displayName": "The Boss"}
    user = create(scim, **{ENTERPRISE: {"manager": manager}})
    assert user[ENTERPRISE]["manager"] == {"value": "boss-id"}
    rv = scim.patch(
        f"/Users/{user['id']}",
        patch_ops({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": manager}),
    )
    assert rv.get_json()[ENTERPRISE]["manager"] == {"value": "boss-id"}
    assert scim.get(f"/Users/{user['id']}").get_json()[ENTERPRISE]["manager"] == {
        "value": "boss-id"
    }


@pytest.mark.parametrize("cleared", ["", {"value": ""}])
def test_a_manager_cleared_with_an_empty_value_is_removed(scim, cleared):
    """Entra ID clears the manager by replacing it with "" (or an empty value)."""
    user = create(scim, **{ENTERPRISE: {"department": "Ops", "manager": {"value": "boss"}}})
    rv = scim.patch(
        f"/Users/{user['id']}",
        patch_ops({"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": cleared}),
    )
    assert rv.status_code == 200, rv.get_json()
    assert rv.get_json()[ENTERPRISE] == {"department": "Ops"}
    assert scim.get(f"/Users/{user['id']}").get_json()[ENTERPRISE] == {"department": "Ops"}
