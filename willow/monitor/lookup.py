"""An IdP's lookup, read as the resource it looked for.

Before creating a user or group, Okta, Entra ID and JumpCloud look it up:
``GET /Users?filter=userName eq "alice@example.com"`` (or ``externalId eq``, or
``displayName eq`` for groups). The log records such a query with the value it looked for
as its label, and with the id of the one resource it found, so that the search ``q``
("alice", or the user's id, as the directory's link uses) finds the lookup beside the
create and the updates of the same user.

Pure: text in, values out.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: ``attr eq "value"``, the whole filter, with the attributes IdPs look up by.
_EQ_LOOKUP = re.compile(
    r'^\s*(?:urn:[^\s]*:)?(username|externalid|displayname|emails\.value)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$',
    re.IGNORECASE,
)


def looked_up_value(filter_text: str | None) -> str | None:
    """The value a simple equality lookup looks for; None for any other filter."""
    if not filter_text:
        return None
    match = _EQ_LOOKUP.match(filter_text)
    if match is None:
        return None
    try:
        return json.loads(f'"{match.group(2)}"')  # the filter's string escapes are JSON's
    except ValueError:
        return match.group(2)


def filter_of(query_args: dict[str, str], body: Any) -> str | None:
    """The ``filter`` of a GET's query string or of a POST .search body (any key case)."""
    for key, value in query_args.items():
        if key.lower() == "filter":
            return value
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(key, str) and key.lower() == "filter" and isinstance(value, str):
                return value
    return None


def single_result_id(response_body: Any) -> str | None:
    """The id of the only resource a ListResponse holds (the lookup found it)."""
    if not isinstance(response_body, dict) or response_body.get("totalResults") != 1:
        return None
    resources = response_body.get("Resources")
    if isinstance(resources, list) and len(resources) == 1 and isinstance(resources[0], dict):
        found = resources[0].get("id")
        return found if isinstance(found, str) else None
    return None
