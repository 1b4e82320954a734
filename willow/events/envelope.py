"""The event envelope as delivered, the ``changes`` shape, and the events API cursor.

Pure: values in, JSON-ready values or text out. The envelope is serialised once, when
the event is written; the events API and the webhooks send those bytes as they are.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

EVENT_ID_PREFIX = "evt_"
_CURSOR_VERSION = "v1:"
_CURSOR_TEXT = re.compile(r"^v1:(0|[1-9][0-9]{0,18})$")


def new_event_id() -> str:
    """``evt_`` and 32 random hex digits: the consumer's idempotency key. Python's
    generator (seeded from the OS) serves, as for request ids: a bulk change writes tens
    of thousands at once, and the id names an event, it protects nothing."""
    return f"{EVENT_ID_PREFIX}{random.getrandbits(128):032x}"


def rfc3339(moment: datetime) -> str:
    """A naive UTC datetime (how Willow stores them) as RFC 3339 with milliseconds."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def changes_of(audit_changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The request log's attribute changes (``[{"attribute", "before", "after"}]``) as the
    envelope's ``changes``: attribute → ``{"before": …, "after": …}``. Member changes
    are not attribute changes: they are events of their own."""
    return {
        c["attribute"]: {"before": c.get("before"), "after": c.get("after")}
        for c in audit_changes
        if "attribute" in c and c["attribute"] != "members" and "added" not in c
    }


@dataclass(frozen=True)
class Context:
    """What every event of one change shares."""

    organization: str
    occurred_at: datetime
    request_id: str | None
    actor: str | None


@dataclass(frozen=True)
class Draft:
    """An event before it is numbered: its type and ``data``."""

    type: str
    data: dict[str, Any]


def envelope(
    event_id: str, sequence: int, draft: Draft, context: Context
) -> dict[str, Any]:
    return {
        "id": event_id,
        "sequence": sequence,
        "type": draft.type,
        "occurred_at": rfc3339(context.occurred_at),
        "organization": context.organization,
        "request_id": context.request_id,
        "actor": context.actor,
        "data": draft.data,
    }


def dumps(value: Any) -> str:
    """The JSON text of an envelope as stored and delivered (compact, UTF-8 as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class CursorError(ValueError):
    """A cursor this server did not hand out."""


def encode_cursor(sequence: int) -> str:
    """The opaque ``next_cursor``: base64url of ``v1:<sequence>``, unpadded. Opaque so
    that its form can change (a version prefix says which) without breaking readers."""
    raw = f"{_CURSOR_VERSION}{sequence}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The sequence number a cursor stands for (the last event the reader has seen)."""
    text = cursor.strip()
    if not text or len(text) > 40:
        raise CursorError("The cursor is not one this server handed out.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError("The cursor is not one this server handed out.") from None
    match = _CURSOR_TEXT.match(raw)
    if match is None:
        raise CursorError("The cursor is not one this server handed out.")
    return int(match.group(1))
