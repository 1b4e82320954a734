"""Discovery: ServiceProviderConfig, ResourceTypes, Schemas (RFC 7643 §5-7, RFC 7644 §4)."""

from __future__ import annotations

import pytest
from flask import g

from willow.scim.protocol.schema import ENTERPRISE_USER
from willow.scim.protocol.schema import ENTERPRISE_USER_SCHEMA
from willow.scim.protocol.schema import GROUP
from willow.scim.protocol.schema import GROUP_SCHEMA
from willow.scim.protocol.schema import USER
from willow.scim.protocol.schema import USER_SCHEMA

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BASE = "http://localhost/scim/v2"

ENDPOINTS = [
    "/ServiceProviderConfig",
    "/ResourceTypes",
    "/ResourceTypes/User",
    "/Schemas",
    f"/Schemas/{USER_SCHEMA}",
]


def _assert_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    return body


@pytest.mark.parametrize("path", ENDPOINTS)
def test_discovery_needs_a_bearer_token(client, path):
    response = client.get("/scim/v2" + path)
    _assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_discovery_answers_scim_json(scim, path):
    response = scim.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/scim+json"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_filter_on_a_discovery_endpoint_is_forbidden(scim, path):
    """RFC 7644 §4: the server SHOULD answer 403 rather than pretend to filter."""
    _assert_error(scim.get(path, query_string={"filter": 'name eq "User"'}), 403)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_discovery_is_read_only(scim, path):
    _assert_error(scim.post(path, {"schemas": [USER_SCHEMA]}), 405)


@pytest.mark.parametrize(
    ("path", "resource_type", "resource_id", "operation"),
    [
        ("/ServiceProviderConfig", "Config", "ServiceProviderConfig", "read"),
        ("/ResourceTypes", "Config", None, "query"),
        ("/ResourceTypes/Group", "Config", "Group", "read"),
        ("/Schemas", "Schema", None, "query"),
        (f"/Schemas/{GROUP_SCHEMA}", "Schema", GROUP_SCHEMA, "read"),
    ],
)
def test_discovery_requests_are_described_for_the_log(
    client, token, path, resource_type, resource_id, operation
):
    with client:
        response = client.get("/scim/v2" + path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        audit = g.scim_audit
        assert (audit.resource_type, audit.resource_id, audit.operation) == (
            resource_type,
            resource_id,
            operation,
        )


def test_service_provider_config_states_exactly_what_is_implemented(app, scim):
    body = scim.get("/ServiceProviderConfig").get_json()
    docs = app.config["WILLOW_DOCUMENTATION_URL"]
    assert body == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": docs,
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": 1000,
            "maxPayloadSize": app.config["MAX_CONTENT_LENGTH"],
        },
        "filter": {"supported": True, "maxResults": app.config["WILLOW_SCIM_MAX_RESULTS"]},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": app.config["WILLOW_SCIM_MAX_RESULTS"],
            "maxPageSize": app.config["WILLOW_SCIM_MAX_RESULTS"],
            "cursorTimeout": app.config["WILLOW_CURSOR_TIMEOUT"],
        },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": body["authenticationSchemes"][0]["name"],
                "description": body["authenticationSchemes"][0]["description"],
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "documentationUri": docs,
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{BASE}/ServiceProviderConfig",
        },
    }
    scheme = body["authenticationSchemes"][0]
    assert scheme["name"] and scheme["description"]


def test_service_provider_config_follows_the_settings(app, scim):
    app.config.update(
        WILLOW_SCIM_MAX_RESULTS=250,
        WILLOW_CURSOR_TIMEOUT=90,
        WILLOW_DOCUMENTATION_URL="https://docs.example.test/scim",
        WILLOW_PUBLIC_URL="https://willow.example.test/",
    )
    body = scim.get("/ServiceProviderConfig").get_json()
    assert body["filter"]["maxResults"] == 250
    assert body["pagination"]["maxPageSize"] == body["pagination"]["defaultPageSize"] == 250
    assert body["pagination"]["cursorTimeout"] == 90
    assert body["documentationUri"] == "https://docs.example.test/scim"
    assert body["authenticationSchemes"][0]["documentationUri"] == "https://docs.example.test/scim"
    assert body["meta"]["location"] == "https://willow.example.test/scim/v2/ServiceProviderConfig"


def test_resource_types_are_listed_in_a_list_response(scim):
    body = scim.get("/ResourceTypes").get_json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (2, 1, 2)
    assert [r["id"] for r in body["Resources"]] == ["User", "Group"]
    assert body["Resources"][0] == scim.get("/ResourceTypes/User").get_json()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "User",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "User Account",
                "schema": USER_SCHEMA,
                "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": False}],
                "meta": {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/User"},
            },
        ),
        (
            "Group",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "Group",
                "name": "Group",
                "endpoint": "/Groups",
                "description": "Group",
                "schema": GROUP_SCHEMA,
                "meta": {
                    "resourceType": "ResourceType",
                    "location": f"{BASE}/ResourceTypes/Group",
                },
            },
        ),
    ],
)
def test_a_resource_type_names_its_endpoint_and_schemas(scim, name, expected):
    assert scim.get(f"/ResourceTypes/{name}").get_json() == expected


def test_resource_type_names_are_matched_case_insensitively(scim):
    assert scim.get("/ResourceTypes/user").get_json()["id"] == "User"


@pytest.mark.parametrize("name", ["Users", "Device", "ServiceProviderConfig"])
def test_an_unknown_resource_type_is_a_scim_404(scim, name):
    _assert_error(scim.get(f"/ResourceTypes/{name}"), 404)


def test_schemas_are_listed_in_a_list_response(scim):
    body = scim.get("/Schemas").get_json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (3, 1, 3)
    assert {r["id"] for r in body["Resources"]} == {
        USER_SCHEMA,
        GROUP_SCHEMA,
        ENTERPRISE_USER_SCHEMA,
    }


@pytest.mark.parametrize(
    ("schema", "name"),
    [(USER, "User"), (GROUP, "Group"), (ENTERPRISE_USER, "EnterpriseUser")],
)
def test_a_schema_resource_carries_every_attribute_definition(scim, schema, name):
    body = scim.get(f"/Schemas/{schema.id}").get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert (body["id"], body["name"]) == (schema.id, name)
    assert body["description"]
    assert body["meta"] == {"resourceType": "Schema", "location": f"{BASE}/Schemas/{schema.id}"}
    assert [a["name"] for a in body["attributes"]] == [a.name for a in schema.attributes]
    assert body["attributes"] == [a.to_dict() for a in schema.attributes]


def _walk(attributes: list[dict], prefix: str = ""):
    for attr in attributes:
        yield prefix + attr["name"], attr
        yield from _walk(attr.get("subAttributes", []), prefix + attr["name"] + ".")


@pytest.mark.parametrize("urn", [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA])
def test_every_attribute_definition_is_complete(scim, urn):
    """RFC 7643 §7: clients rely on these characteristics being present, not defaulted."""
    attributes = scim.get(f"/Schemas/{urn}").get_json()["attributes"]
    for path, attr in _walk(attributes):
        for key in ("type", "multiValued", "required", "mutability", "returned", "description"):
            assert key in attr, f"{path} has no {key}"
        assert isinstance(attr["multiValued"], bool) and isinstance(attr["required"], bool)
        if attr["type"] in ("string", "reference"):
            assert isinstance(attr["caseExact"], bool), f"{path} has no caseExact"
        if attr["type"] == "complex":
            assert attr["subAttributes"], f"{path} is complex without subAttributes"
        else:
            assert "uniqueness" in attr, f"{path} has no uniqueness"


def _attribute(scim, urn: str, path: str) -> dict:
    return dict(_walk(scim.get(f"/Schemas/{urn}").get_json()["attributes"]))[path]


@pytest.mark.parametrize(
    ("urn", "path", "expected"),
    [
        (USER_SCHEMA, "userName", {"required": True, "uniqueness": "server", "caseExact": False}),
        (USER_SCHEMA, "password", {"mutability": "writeOnly", "returned": "never"}),
        (USER_SCHEMA, "groups", {"mutability": "readOnly", "multiValued": True}),
        (USER_SCHEMA, "active", {"type": "boolean"}),
        (USER_SCHEMA, "emails", {"type": "complex", "multiValued": True}),
        (USER_SCHEMA, "emails.type", {"canonicalValues": ["work", "home", "other"]}),
        (GROUP_SCHEMA, "displayName", {"required": True, "uniqueness": "server"}),
        (GROUP_SCHEMA, "members.value", {"mutability": "immutable", "caseExact": True}),
        (GROUP_SCHEMA, "members.$ref", {"type": "reference", "referenceTypes": ["User", "Group"]}),
        (ENTERPRISE_USER_SCHEMA, "manager.value", {"caseExact": True}),
        (ENTERPRISE_USER_SCHEMA, "manager.displayName", {"mutability": "readOnly"}),
    ],
)
def test_attribute_characteristics(scim, urn, path, expected):
    attr = _attribute(scim, urn, path)
    assert {key: attr[key] for key in expected} == expected


@pytest.mark.parametrize("urn", [USER_SCHEMA.upper(), GROUP_SCHEMA.lower()])
def test_schema_urns_are_matched_case_insensitively(scim, urn):
    body = scim.get(f"/Schemas/{urn}").get_json()
    assert body["id"].lower() == urn.lower()
    assert body["id"] in (USER_SCHEMA, GROUP_SCHEMA)


@pytest.mark.parametrize(
    "urn",
    [
        "urn:ietf:params:scim:schemas:core:2.0:Device",
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
        "User",
    ],
)
def test_an_unknown_schema_is_a_scim_404(scim, urn):
    _assert_error(scim.get(f"/Schemas/{urn}"), 404)


def test_what_service_provider_config_advertises_is_what_the_server_does(app, scim):
    """Each feature claimed (or denied) in ServiceProviderConfig is checked against the server."""
    app.config["WILLOW_SCIM_MAX_RESULTS"] = 2
    config = scim.get("/ServiceProviderConfig").get_json()
    for name in ("a", "b", "c"):
        assert scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": name}).status_code == 201

    listed = scim.get("/Users", query_string={"count": "10"}).get_json()
    assert config["filter"]["maxResults"] == 2
    assert (listed["totalResults"], listed["itemsPerPage"]) == (3, 2)

    assert config["sort"]["supported"] is True
    desc = scim.get("/Users", query_string={"sortBy": "userName", "sortOrder": "descending"})
    assert [u["userName"] for u in desc.get_json()["Resources"]] == ["c", "b"]

    assert config["filter"]["supported"] is True
    found = scim.get("/Users", query_string={"filter": 'userName eq "B"'}).get_json()
    assert [u["userName"] for u in found["Resources"]] == ["b"]

    user_id = found["Resources"][0]["id"]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "B"}],
    }
    assert config["patch"]["supported"] is True
    assert config["etag"]["supported"] is True
    etag = scim.get(f"/Users/{user_id}").headers["ETag"]
    assert scim.patch(f"/Users/{user_id}", patch, headers={"If-Match": etag}).status_code == 200
    _assert_error(scim.patch(f"/Users/{user_id}", patch, headers={"If-Match": etag}), 412)

    assert config["bulk"]["supported"] is True
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "DELETE", "path": f"/Users/{user_id}"}],
    }
    assert scim.post("/Bulk", bulk).get_json()["Operations"][0]["status"] == "204"
