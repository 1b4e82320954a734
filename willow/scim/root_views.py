"""``GET {base}``: the SCIM base URL itself."""

from __future__ import annotations

from .blueprint import bp
from .http import scim_response
from .schema import LIST_RESPONSE_SCHEMA


@bp.get("")
def root():
    """``GET {base}``: some clients probe the base URL itself; answer with where to go."""
    return scim_response(
        {
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": [],
        }
    )
