"""How log entries read on the page: pretty JSON, changes in words, status classes.

Pure text in, text out; Jinja escapes the result, so a payload can never become markup.
"""

from __future__ import annotations

import json
from typing import Any

from ..server.json_limits import loads as load_json


def pretty_json(text: str | None) -> str:
    """A stored body indented for reading; text that is not JSON (a truncated body, a
    form post, one nested too deep to parse safely) is shown as stored."""
    if not text:
        return ""
    try:
        return json.dumps(load_json(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


#: How the note that keeps the path as the client sent it starts (written by capture).
PATH_AS_SENT_NOTE = "Path as sent: "


def path_as_sent(notes: list[str] | None) -> str | None:
    """The path as the client sent it, when it differed from the normalised one (capture
    keeps it as the first note)."""
    for note in notes or []:
        if isinstance(note, str) and note.startswith(PATH_AS_SENT_NOTE):
            return note[len(PATH_AS_SENT_NOTE) :].rsplit(" (read as ", 1)[0]
    return None


def status_class(code: int) -> str:
    """``2xx``, ``4xx``... (CSS class and label, so colour is never the only signal)."""
    return f"{code // 100}xx"


def describe_change(change: dict[str, Any], resource_label: str | None = None) -> str:
    """One recorded change in words: ``Engineering: +alice, −bob`` for members,
    ``displayName: "Engineering" → "Eng"`` for an attribute."""
    if "added" in change or "removed" in change:
        parts = [f"+{_member(m)}" for m in change.get("added") or []]
        parts += [f"−{_member(m)}" for m in change.get("removed") or []]
        subject = resource_label or change.get("attribute") or "members"
        return f"{subject}: {', '.join(parts) or 'no change'}"
    before, after = _value(change.get("before")), _value(change.get("after"))
    return f"{change.get('attribute', '?')}: {before} → {after}"


def _member(member: Any) -> str:
    if isinstance(member, dict):
        return str(member.get("display") or member.get("value") or "?")
    return str(member)


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False)
