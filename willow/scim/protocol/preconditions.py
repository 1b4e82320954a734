"""Conditional requests on SCIM resources (RFC 7644 §3.14, RFC 9110 §13.1).

SCIM ETags are weak and name the resource's version (``W/"3"``). Writes check them inside
their own transaction, after the row is locked, so the version compared is the one
that is then changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import PreconditionFailed


def entity_tags(header: str | None) -> tuple[str, ...] | None:
    """The entity tags of a conditional header, or None when it is absent or blank."""
    tags = tuple(tag.strip() for tag in (header or "").split(",") if tag.strip())
    return tags or None


def _any_matches(tags: tuple[str, ...], version: int) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2): ``W/"3"`` and ``"3"`` both name version 3,
    and ``*`` names any current version."""
    current = str(version)
    for tag in tags:
        if tag == "*":
            return True
        value = tag[2:] if tag.startswith("W/") else tag
        if value.strip('"') == current:
            return True
    return False


@dataclass(frozen=True)
class Preconditions:
    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None

    def check_write(self, version: int) -> None:
        """Before PUT/PATCH/DELETE: a stale If-Match, or an If-None-Match naming the
        current version (or ``*``), is 412 Precondition Failed."""
        if self.if_match is not None and not _any_matches(self.if_match, version):
            raise PreconditionFailed()
        if self.if_none_match is not None and _any_matches(self.if_none_match, version):
            raise PreconditionFailed("If-None-Match names the current version of the resource.")

    def not_modified(self, version: int) -> bool:
        """Whether a GET may answer 304 Not Modified (RFC 9110 §13.1.2)."""
        return self.if_none_match is not None and _any_matches(self.if_none_match, version)


#: No conditional headers: every write goes ahead.
UNCONDITIONAL = Preconditions()
