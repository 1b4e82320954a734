"""The discovery payloads: ServiceProviderConfig, ResourceTypes and Schemas (RFC 7643 §5-7).

Pure functions of ``willow.scim.protocol.schema`` and a few settings, so what the server says about
itself is derived from the same definitions the rest of the code reads and cannot drift
from them. The views add the base URL and the HTTP around them (RFC 7644 §4).

Not advertised, because not implemented: password changes (passwords are discarded;
Willow users sign in through SSO).
"""

from __future__ import annotations

from .schema import LIST_RESPONSE_SCHEMA
from .schema import RESOURCE_SCHEMAS
from .schema import SCHEMAS
from .schema import Schema
from .schema import schema_by_urn

SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

#: Resource type name → (endpoint, description) (RFC 7643 §6).
RESOURCE_TYPES: dict[str, tuple[str, str]] = {
    "User": ("/Users", "User Account"),
    "Group": ("/Groups", "Group"),
}


def service_provider_config(
    base_url: str,
    *,
    max_results: int,
    documentation_uri: str | None,
    bulk_max_operations: int = 0,
    bulk_max_payload_size: int = 0,
    cursor_timeout: int,
) -> dict:
    """The ServiceProviderConfig resource (RFC 7643 §5), stating only what Willow does."""
    rv: dict = {"schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA]}
    if documentation_uri:
        rv["documentationUri"] = documentation_uri
    scheme: dict = {
        "type": "oauthbearertoken",
        "name": "OAuth Bearer Token",
        "description": "An API token from Admin → API Tokens, sent as "
        "'Authorization: Bearer <token>'.",
        "specUri": "https://www.rfc-editor.org/info/rfc6750",
        "primary": True,
    }
    if documentation_uri:
        scheme["documentationUri"] = documentation_uri
    rv.update(
        {
            "patch": {"supported": True},
            # /Bulk (RFC 7644 §3.7.4): the payload limit is the request body limit.
            "bulk": {
                "supported": bulk_max_operations > 0,
                "maxOperations": bulk_max_operations,
                "maxPayloadSize": bulk_max_payload_size,
            },
            "filter": {"supported": True, "maxResults": max_results},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            # RFC 9865 §4. Index paging stays the default, so clients written before
            # cursors see no change (RFC 9865, "Backwards Compatibility Considerations").
            "pagination": {
                "cursor": True,
                "index": True,
                "defaultPaginationMethod": "index",
                "defaultPageSize": max_results,
                "maxPageSize": max_results,
                "cursorTimeout": cursor_timeout,
            },
            "authenticationSchemes": [scheme],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{base_url}/ServiceProviderConfig",
            },
        }
    )
    return rv


def resource_type(base_url: str, name: str) -> dict | None:
    """One ResourceType resource (RFC 7643 §6), or None for an unknown name.

    Names are matched case-insensitively, as attribute names are: a client asking for
    ``/ResourceTypes/user`` can only mean one thing.
    """
    canonical = _canonical_type_name(name)
    if canonical is None:
        return None
    endpoint, description = RESOURCE_TYPES[canonical]
    core, extensions = RESOURCE_SCHEMAS[canonical]
    rv: dict = {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": canonical,
        "name": canonical,
        "endpoint": endpoint,
        "description": description,
        "schema": core.id,
    }
    if extensions:
        # Willow accepts users without the enterprise extension, hence required false.
        rv["schemaExtensions"] = [{"schema": ext.id, "required": False} for ext in extensions]
    rv["meta"] = {
        "resourceType": "ResourceType",
        "location": f"{base_url}/ResourceTypes/{canonical}",
    }
    return rv


def resource_types(base_url: str) -> dict:
    """All ResourceTypes as a ListResponse (RFC 7644 §4)."""
    return list_response([resource_type(base_url, name) for name in RESOURCE_TYPES])


def schema_resource(base_url: str, urn: str) -> dict | None:
    """One Schema resource with its full attribute definitions (RFC 7643 §7), or None.

    The URN is compared case-insensitively; the response uses the canonical spelling.
    """
    schema = schema_by_urn(urn)
    if schema is None:
        return None
    return _schema_dict(base_url, schema)


def schemas(base_url: str) -> dict:
    """Every schema Willow implements as a ListResponse (RFC 7644 §4)."""
    return list_response([_schema_dict(base_url, schema) for schema in SCHEMAS.values()])


def list_response(resources: list) -> dict:
    """A ListResponse (RFC 7644 §3.4.2) holding every resource: discovery lists are small
    and complete, so there is one page."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _schema_dict(base_url: str, schema: Schema) -> dict:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": [attr.to_dict() for attr in schema.attributes],
        "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema.id}"},
    }


def _canonical_type_name(name: str) -> str | None:
    lowered = name.lower()
    for canonical in RESOURCE_TYPES:
        if canonical.lower() == lowered:
            return canonical
    return None
