"""Discovery routes: ``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas`` (RFC 7644 §4).

They need a valid token like every other SCIM route (the blueprint checks it).
"""

from __future__ import annotations

from flask import current_app
from flask import request

from . import audit
from . import discovery
from .blueprint import bp
from .errors import Forbidden
from .errors import NotFound
from .http import base_url
from .http import scim_response


def _refuse_filter() -> None:
    """RFC 7644 §4: a filter on a discovery endpoint SHOULD be answered with 403, so a
    client never believes the conditions it asked for were applied."""
    if "filter" in request.args:
        raise Forbidden("Filtering is not supported on this discovery endpoint.")


@bp.get("/ServiceProviderConfig")
def get_service_provider_config():
    audit.describe(resource_type="Config", resource_id="ServiceProviderConfig", operation="read")
    _refuse_filter()
    return scim_response(
        discovery.service_provider_config(
            base_url(),
            max_results=current_app.config["WILLOW_SCIM_MAX_RESULTS"],
            documentation_uri=current_app.config.get("WILLOW_DOCUMENTATION_URL"),
        )
    )


@bp.get("/ResourceTypes")
def list_resource_types():
    audit.describe(resource_type="Config", operation="query")
    _refuse_filter()
    return scim_response(discovery.resource_types(base_url()))


@bp.get("/ResourceTypes/<name>")
def get_resource_type(name: str):
    audit.describe(resource_type="Config", resource_id=name, operation="read")
    _refuse_filter()
    rv = discovery.resource_type(base_url(), name)
    if rv is None:
        raise NotFound(f"Unknown resource type {name!r}.")
    return scim_response(rv)


@bp.get("/Schemas")
def list_schemas():
    audit.describe(resource_type="Schema", operation="query")
    _refuse_filter()
    return scim_response(discovery.schemas(base_url()))


@bp.get("/Schemas/<urn>")
def get_schema(urn: str):
    audit.describe(resource_type="Schema", resource_id=urn, operation="read")
    _refuse_filter()
    rv = discovery.schema_resource(base_url(), urn)
    if rv is None:
        raise NotFound(f"Unknown schema {urn!r}.")
    return scim_response(rv)
