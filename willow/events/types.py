"""The event types, and the ``types`` filter of the events API (``user.*`` prefixes).

Pure: names in, names out.
"""

from __future__ import annotations

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
USER_DELETED = "user.deleted"
GROUP_CREATED = "group.created"
GROUP_UPDATED = "group.updated"
GROUP_DELETED = "group.deleted"
GROUP_MEMBER_ADDED = "group.member_added"
GROUP_MEMBER_REMOVED = "group.member_removed"
ACCESS_CHANGED = "access.changed"
#: The deprovisioning guard (willow/guard) started / stopped holding deprovisionings.
GUARD_TRIPPED = "guard.tripped"
GUARD_RELEASED = "guard.released"

#: Every type, in the order the documentation lists them.
EVENT_TYPES: tuple[str, ...] = (
    USER_CREATED,
    USER_UPDATED,
    USER_DEACTIVATED,
    USER_REACTIVATED,
    USER_DELETED,
    GROUP_CREATED,
    GROUP_UPDATED,
    GROUP_DELETED,
    GROUP_MEMBER_ADDED,
    GROUP_MEMBER_REMOVED,
    ACCESS_CHANGED,
    GUARD_TRIPPED,
    GUARD_RELEASED,
)


class TypesFilterError(ValueError):
    """A ``types`` list naming no known event type."""


def parse_types(text: str | None) -> tuple[str, ...] | None:
    """The event types a comma list selects: exact names, or prefixes ending in ``*``
    (``user.*``, ``group.member_*``, ``*``). None when the list is absent or empty (every
    type). An item that selects no known type is refused rather than silently matching
    nothing, so a typo (``users.*``) is seen at once."""
    if text is None or not text.strip():
        return None
    selected: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item.endswith("*"):
            matched = [t for t in EVENT_TYPES if t.startswith(item[:-1])]
        else:
            matched = [t for t in EVENT_TYPES if t == item]
        if not matched:
            raise TypesFilterError(
                f"{item!r} is not an event type (known types: {', '.join(EVENT_TYPES)}; "
                "a prefix ends with '*', e.g. 'user.*')."
            )
        selected += [t for t in matched if t not in selected]
    if not selected:
        return None
    return tuple(t for t in EVENT_TYPES if t in selected)
