"""List and search queries (RFC 7644 §3.4.2, §3.4.3): parameters, paging, ListResponse.

Two paging methods: by index (``startIndex``, the default) and by cursor (RFC 9865:
``cursor``, ``nextCursor``, ``previousCursor``). A request that sends ``cursor`` (even
empty) is cursor-paged; one that sends both is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from willow.numbers import INT64_MAX
from willow.numbers import INT64_MIN
from willow.numbers import NotAnInteger
from willow.numbers import parse_integer

from .errors import InvalidCount
from .errors import InvalidCursor
from .errors import InvalidValue
from .schema import LIST_RESPONSE_SCHEMA


@dataclass(frozen=True)
class ListQuery:
    filter: str | None = None
    #: 1-based; values below 1 are read as 1 (RFC 7644 §3.4.2.4).
    start_index: int = 1
    #: Resources per page after capping; 0 returns only totalResults.
    count: int = 100
    sort_by: str | None = None
    descending: bool = False
    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()
    #: None: index paging. "": the first page of a cursor walk. Else a cursor to decode.
    cursor: str | None = None

    @property
    def cursor_paged(self) -> bool:
        return self.cursor is not None


def _integer(name: str, raw: Any, lowest: int, highest: int) -> int | None:
    """``raw`` clamped to ``[lowest, highest]`` (RFC 7644 §3.4.2.4: a startIndex below 1 is
    1, a negative count is 0); None when absent."""
    if raw is None or raw == "":
        return None
    try:
        return parse_integer(raw, lowest, highest, clamp=True)
    except NotAnInteger:
        shown = raw if not isinstance(raw, str) or len(raw) <= 40 else raw[:37] + "..."
        raise InvalidValue(
            f"'{name}' must be an integer written with the digits 0-9, got {shown!r}."
        ) from None


def _names(raw: Any, name: str) -> tuple[str, ...]:
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InvalidValue(f"'{name}' must be a list of attribute names.")
    return tuple(n.strip() for n in raw if n.strip())


def build_query(params: Mapping[str, Any], max_results: int) -> ListQuery:
    """A ListQuery from query-string parameters or a SearchRequest body (same names).

    Parameter names are matched case-insensitively. ``count`` above ``max_results`` is
    capped (ServiceProviderConfig advertises the maximum); a negative count is read as 0.
    """
    lowered = {k.lower(): v for k, v in params.items()}
    cursor = lowered.get("cursor")
    if cursor is not None:
        return _cursor_query(lowered, cursor, max_results)
    # A startIndex past every possible result is an empty page, not an error: the largest
    # one kept is the largest OFFSET (+1) both databases take.
    start = _integer("startIndex", lowered.get("startindex"), 1, INT64_MAX)
    count = _integer("count", lowered.get("count"), 0, max_results)
    order = lowered.get("sortorder")
    if order is not None and not isinstance(order, str):
        raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'.")
    order = (order or "ascending").strip().lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'.")
    filter_text = lowered.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValue("'filter' must be a string.")
    sort_by = lowered.get("sortby")
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValue("'sortBy' must be an attribute name.")
    return ListQuery(
        filter=filter_text.strip() if filter_text and filter_text.strip() else None,
        start_index=start or 1,
        count=max_results if count is None else count,
        sort_by=sort_by.strip() if sort_by and sort_by.strip() else None,
        descending=order == "descending",
        attributes=_names(lowered.get("attributes"), "attributes"),
        excluded_attributes=_names(lowered.get("excludedattributes"), "excludedAttributes"),
    )


def _cursor_query(lowered: dict[str, Any], cursor: Any, max_results: int) -> ListQuery:
    """RFC 9865 §2: ``cursor`` (empty for the first page) and ``count``, which must be
    between 1 and maxPageSize (§2.1, ``invalidCount``), not capped as in index paging."""
    if not isinstance(cursor, str):
        raise InvalidCursor("'cursor' must be a string: empty for the first page.")
    if lowered.get("startindex") not in (None, ""):
        raise InvalidValue(
            "'startIndex' and 'cursor' cannot be used together: send 'startIndex' for "
            "index paging or 'cursor' for cursor paging (RFC 9865)."
        )
    raw = lowered.get("count")
    count = max_results
    if raw is not None and raw != "":
        try:
            count = parse_integer(raw, INT64_MIN, INT64_MAX, clamp=True)
        except NotAnInteger:
            count = 0
        if not 1 <= count <= max_results:
            raise InvalidCount(
                f"'count' must be an integer between 1 and maxPageSize ({max_results}) "
                "when paging by cursor."
            )
    index = build_query({k: v for k, v in lowered.items() if k not in _CURSOR_ONLY}, max_results)
    return ListQuery(
        filter=index.filter,
        count=count,
        sort_by=index.sort_by,
        descending=index.descending,
        attributes=index.attributes,
        excluded_attributes=index.excluded_attributes,
        cursor=cursor.strip(),
    )


_CURSOR_ONLY = ("cursor", "count", "startindex")


def cursor_response(
    resources: list[dict[str, Any]],
    total: int | None,
    next_cursor: str | None,
    previous_cursor: str | None,
) -> dict[str, Any]:
    """A cursor-paged ListResponse (RFC 9865 §2): no ``startIndex``; ``nextCursor`` on
    every page but the last, ``previousCursor`` on every page but the first."""
    rv: dict[str, Any] = {"schemas": [LIST_RESPONSE_SCHEMA]}
    if total is not None:
        rv["totalResults"] = total
    rv["itemsPerPage"] = len(resources)
    if next_cursor is not None:
        rv["nextCursor"] = next_cursor
    if previous_cursor is not None:
        rv["previousCursor"] = previous_cursor
    rv["Resources"] = resources
    return rv


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    """``itemsPerPage`` is the number of resources in this response (Okta checks it)."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
