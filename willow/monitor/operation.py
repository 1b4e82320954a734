"""What a logged request did, in the admin's words: the list's "Operation" column.

Two PATCHes on one user (a name change and a deactivation) used to read the same in the
list; the label tells them apart from what the row already holds: the method and path,
the status, the operation and resource capture recorded, the changes (attribute before →
after, members added and removed) and the query string. Names come from
the row (the userName or displayName capture kept, the members' display names in the
changes), never from another query.

Decided when the page is rendered, not stored: no filter needs it, and labelling a page of
50 rows costs about half a millisecond (docs/log-list.md). Pure: values in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..scim.protocol.wrong_path import BASE
from ..scim.protocol.wrong_path import ENDPOINTS

#: Attribute paths (as the changes name them) → the admin's word for them.
_ATTRIBUTE_WORDS = (
    ("username", "userName"),
    ("name.", "name"),
    ("name", "name"),
    ("displayname", "display name"),
    ("nickname", "nickname"),
    ("emails", "email"),
    ("phonenumbers", "phone"),
    ("addresses", "address"),
    ("title", "title"),
    ("externalid", "externalId"),
    ("active", "active"),
    ("preferredlanguage", "language"),
    ("locale", "locale"),
    ("timezone", "time zone"),
    ("usertype", "user type"),
    ("roles", "roles"),
)
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"
_DISCOVERY = {
    "serviceproviderconfig": "ServiceProviderConfig",
    "resourcetypes": "ResourceTypes",
    "schemas": "Schemas",
}
#: The parameters a list query may carry beside ``filter`` (the stored query string is
#: decoded, so a filter's own ``&`` cannot be told from a separator otherwise).
_QUERY_PARAMETERS = "startIndex|count|attributes|excludedAttributes|sortBy|sortOrder|cursor"
_FILTER = re.compile(
    rf"(?:^|&)filter=(.*?)(?=&(?:{_QUERY_PARAMETERS})=|$)", re.IGNORECASE | re.DOTALL
)
_NUMBER = re.compile(r"(?:^|&)({})=(\d{{1,9}})(?=&|$)".format("startIndex|count"), re.IGNORECASE)
_LOOKUP_ATTRIBUTE = re.compile(
    r"^\s*(?:urn:\S*:)?(username|externalid|displayname|emails\.value)\s+eq\b", re.IGNORECASE
)
_LOOKUP_NAMES = {
    "username": "userName",
    "externalid": "externalId",
    "displayname": "displayName",
    "emails.value": "email",
}
#: Longest name or value quoted in a label; the detail page has the rest.
_SHOWN = 40


@dataclass(frozen=True)
class Operation:
    """The label, and its kind for the page's styling: ``change``, ``no-change``,
    ``read``, ``refused`` (never applied: 4xx/5xx) or ``other``."""

    text: str
    kind: str


def describe(row: Any) -> Operation:
    """The operation of a log row (a list row or an entry: any object with the log's
    column names as attributes)."""
    return label(
        method=row.method,
        path=row.path,
        status=row.status_code,
        operation=row.operation,
        resource_type=row.resource_type,
        resource_label=row.resource_label,
        resource_id=row.resource_id,
        query_string=row.query_string,
        changes=row.changes,
    )


def label(
    *,
    method: str,
    path: str,
    status: int,
    operation: str | None,
    resource_type: str | None,
    resource_label: str | None = None,
    resource_id: str | None = None,
    query_string: str | None = None,
    changes: list[dict[str, Any]] | None = None,
) -> Operation:
    """The label of one request from its logged parts (see ``describe``)."""
    kind = (resource_type or "").lower()
    noun = {"user": "user", "group": "group"}.get(kind)
    name = _clip(resource_label) if resource_label else None
    if status == 404 and not _is_endpoint(path):
        # Capture's classification ignores case (/users reads as Users): this is no route.
        return Operation("Wrong URL", "refused")
    if resource_type in ("Config", "Schema"):
        return Operation(f"Discovery ({_discovery_name(path)})", "read")
    if status >= 400:
        # Without the name (the next column has it): the reason follows on the same line.
        return Operation(_attempt(method, operation, noun), "refused")
    if noun is None:
        if operation == "query":
            return Operation("Searched users and groups", "read")
        return Operation(f"{method} request", "other")
    if operation == "query":
        return _query(noun, resource_label, resource_id, query_string)
    if operation == "read":
        return Operation(f"Read {noun}{_space(name)}", "read")
    if operation == "create":
        added = _members(changes, "added")
        with_members = f" with {_count(len(added), 'member')}" if added else ""
        return Operation(f"Created {noun}{_space(name)}{with_members}", "change")
    if operation == "delete":
        return Operation(f"Deleted {noun}{_space(name)}", "change")
    if operation == "deactivate":
        return Operation(f"Deactivated{_space(name)}", "change")
    if operation == "reactivate":
        return Operation(f"Reactivated{_space(name)}", "change")
    if not changes:
        return Operation("No change", "no-change")
    if noun == "group":
        return Operation(_group_change(resource_label, changes), "change")
    words = _attribute_words(changes)
    if method == "PUT":
        return Operation(f"Replaced user{_space(name)} ({', '.join(words)} changed)", "change")
    return Operation(f"Updated {', '.join(words)}{_of(name)}", "change")


def _query(
    noun: str, looked_for: str | None, found: str | None, query_string: str | None
) -> Operation:
    """A lookup (``userName eq "…"``: capture kept the value and the id found) or a page
    of a listing."""
    if looked_for is not None:
        match = _LOOKUP_ATTRIBUTE.match(_filter(query_string) or "")
        attribute = _LOOKUP_NAMES[match.group(1).lower()] if match else "lookup"
        outcome = "found" if found else "not found"
        subject = f"{attribute} = {_quoted(looked_for)}" if match else _quoted(looked_for)
        return Operation(f"Lookup {subject} → {outcome}", "read")
    numbers = {key.lower(): int(value) for key, value in _NUMBER.findall(query_string or "")}
    plural = noun + "s"
    if _filter(query_string):
        return Operation(f"Searched {plural} (filter)", "read")
    count, start = numbers.get("count"), max(numbers.get("startindex", 1), 1)
    page = (start - 1) // count + 1 if count else 1
    return Operation(f"Listed {plural} (page {page})", "read")


def _group_change(group: str | None, changes: list[dict[str, Any]]) -> str:
    parts = []
    for change in changes:
        attribute = str(change.get("attribute", ""))
        if attribute == "displayName":
            parts.append(
                f"Renamed group {_quoted(change.get('before'))} → {_quoted(change.get('after'))}"
            )
        elif attribute != "members":
            parts.append(f"Updated {attribute}{_of(_clip(group) if group else None)}")
    added, removed = _members(changes, "added"), _members(changes, "removed")
    # Renamed first: the members' sentences name the group by its new name.
    target = _clip(group) if group else "the group"
    if added:
        parts.append(f"Added {_who(added)} to {target}")
    if removed:
        parts.append(f"Removed {_who(removed)} from {target}")
    return "; ".join(parts) or "No change"


def _members(changes: list[dict[str, Any]] | None, side: str) -> list[Any]:
    rv: list[Any] = []
    for change in changes or []:
        if isinstance(change, dict) and change.get("attribute") == "members":
            rv.extend(change.get(side) or [])
    return rv


def _who(members: list[Any]) -> str:
    """One member by name, more by number (the detail page lists them)."""
    if len(members) == 1:
        member = members[0]
        if isinstance(member, dict):
            member = member.get("display") or member.get("value")
        return _clip(str(member))
    return _count(len(members), "member")


def _attribute_words(changes: list[dict[str, Any]]) -> list[str]:
    words: list[str] = []
    for change in changes:
        word = _attribute_word(str(change.get("attribute", "")))
        if word not in words:
            words.append(word)
    return words


def _attribute_word(attribute: str) -> str:
    key = attribute.lower()
    if key.startswith(_ENTERPRISE):
        return attribute[len(_ENTERPRISE) :].split(".")[0]
    for prefix, word in _ATTRIBUTE_WORDS:
        if key == prefix or (prefix.endswith(".") and key.startswith(prefix)):
            return word
    return attribute.rsplit(":", 1)[-1] or "attributes"


#: What a refused request on a user or group tried, when capture named no operation.
_METHOD_VERBS = {"PUT": "Replace", "PATCH": "Update", "DELETE": "Delete", "GET": "Read"}


def _attempt(method: str, operation: str | None, noun: str | None) -> str:
    """What a refused request tried to do (the reason is shown beside it)."""
    if noun is None:
        return f"{method} request"
    verb = {
        "create": "Create",
        "delete": "Delete",
        "deactivate": "Deactivate",
        "reactivate": "Reactivate",
        "query": "List",
        "read": "Read",
    }.get(operation or "") or _METHOD_VERBS.get(method)
    if verb is None:
        # A method the route does not take (POST on /Users/{id}: a 405).
        return f"{method} request"
    return f"{verb} {noun}s" if verb == "List" else f"{verb} {noun}"


def _is_endpoint(path: str) -> bool:
    """True when ``path`` names an endpoint as it is spelled (its base, case and all)."""
    if path == BASE:
        return True
    if not path.startswith(BASE + "/"):
        return False
    first = path[len(BASE) + 1 :].split("/", 1)[0]
    return first in ENDPOINTS or first in (".search", "openapi.json")


def _discovery_name(path: str) -> str:
    for segment in path.split("/"):
        name = _DISCOVERY.get(segment.lower())
        if name is not None:
            return name
    return "openapi.json" if path.endswith("openapi.json") else "base URL"


def _filter(query_string: str | None) -> str | None:
    match = _FILTER.search(query_string or "")
    return match.group(1) if match else None


def _quoted(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return f'"{_clip(str(value))}"'


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _space(text: str | None) -> str:
    return f" {text}" if text else ""


def _of(text: str | None) -> str:
    return f" of {text}" if text else ""
