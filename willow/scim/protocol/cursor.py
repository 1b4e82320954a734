"""Cursor values for cursor-based pagination (RFC 9865 §2).

A cursor names a position in one query's stable order: the sort key of the row it
follows (or precedes), which way to read from it, a hash of the query it belongs to and
the time it was issued. It is JSON, base64url-encoded and signed with HMAC-SHA256 under
a key derived from the application secret, so it cannot be forged or altered, and it
uses only RFC 3986 unreserved characters (RFC 9865 §2: ``A-Z a-z 0-9 - _ .``).

Nothing is stored on the server per cursor (RFC 9865's security considerations,
availability): a walk costs nothing between its pages, and any app server with the same
secret can continue it.

Pure: the secret, the clock and the timeout are arguments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import ExpiredCursor
from .errors import InvalidCursor

_VERSION = 1
_SALT = b"willow.scim.cursor.v1"
#: Forward (rows after the position) or backward (rows before it).
FORWARD = "n"
BACKWARD = "p"


@dataclass(frozen=True)
class Position:
    """Where a page starts: read ``direction`` from ``key`` (exclusive)."""

    direction: str
    #: The boundary row's sort key, in the query's ORDER BY order.
    key: tuple[Any, ...]


def query_hash(*parts: Any) -> str:
    """A short digest of what fixes a walk's rows and order (resource type, tenant,
    filter, sortBy, sortOrder): a cursor is valid only for the query it came from."""
    text = json.dumps(parts, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _signing_key(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    # A key of its own, so a cursor's MAC can never stand for a session cookie or the reverse.
    return hmac.new(raw, _SALT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _dump_value(value: Any) -> Any:
    # JSON has no datetime: tag it, so the key compares against the column as it was read.
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    return value


def _load_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) != {"dt"} or not isinstance(value["dt"], str):
            raise ValueError("unknown tagged value")
        return datetime.fromisoformat(value["dt"])
    if isinstance(value, (list, float)):
        raise ValueError("unexpected key value")
    return value


def encode(position: Position, query: str, issued_at: int, secret: str | bytes) -> str:
    """The cursor text for ``position`` in the query hashed as ``query``."""
    payload = {
        "v": _VERSION,
        "d": position.direction,
        "k": [_dump_value(v) for v in position.key],
        "q": query,
        "t": int(issued_at),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(_signing_key(secret), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


_INVALID = (
    "The cursor is not valid: send an empty cursor to request the first page, then the "
    "nextCursor or previousCursor of the previous response, with the same filter and "
    "sort parameters."
)


def decode(text: str, query: str, now: int, timeout: int, secret: str | bytes) -> Position:
    """The position a cursor names.

    Raises :class:`InvalidCursor` when it was not issued by this server, was altered, or
    belongs to another query (resource type, filter or sort); :class:`ExpiredCursor` when
    it was issued more than ``timeout`` seconds ago (RFC 9865 §2.1). The signature is
    checked first, so a forged issue time cannot turn one error into the other.
    """
    body, dot, mac = text.partition(".")
    if not dot or not body or not mac or len(text) > 4096:
        raise InvalidCursor(_INVALID)
    digest = hmac.new(_signing_key(secret), body.encode("utf-8"), hashlib.sha256).digest()
    # Compared as text, not decoded: base64 decoding skips stray characters, and a cursor
    # with any character changed must not pass.
    if not hmac.compare_digest(mac.encode("utf-8"), _b64(digest).encode("ascii")):
        raise InvalidCursor(_INVALID)
    try:
        payload = json.loads(_unb64(body))
        if payload.get("v") != _VERSION or payload.get("d") not in (FORWARD, BACKWARD):
            raise ValueError("unknown cursor version or direction")
        key = tuple(_load_value(v) for v in payload["k"])
        issued = payload["t"]
        if not isinstance(issued, int) or not isinstance(payload["q"], str):
            raise ValueError("malformed cursor")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise InvalidCursor(_INVALID) from None
    if payload["q"] != query:
        raise InvalidCursor(
            "The cursor belongs to another query: its filter, sortBy, sortOrder or "
            "endpoint differ from this request's. Send an empty cursor to start a new walk."
        )
    if now - issued > timeout:
        raise ExpiredCursor(
            f"The cursor has expired. Do not wait longer than cursorTimeout ({timeout} "
            "seconds) between page requests; send an empty cursor to start again."
        )
    return Position(payload["d"], key)


@dataclass(frozen=True)
class Walk:
    """One query's cursors: reads the request's cursor and issues the response's."""

    query: str
    now: int
    timeout: int
    secret: str | bytes

    def start(self, cursor: str) -> Position | None:
        """The request's position; None for an empty cursor (the first page)."""
        return decode(cursor, self.query, self.now, self.timeout, self.secret) if cursor else None

    def next_cursor(self, key: tuple) -> str:
        return encode(Position(FORWARD, key), self.query, self.now, self.secret)

    def previous_cursor(self, key: tuple) -> str:
        return encode(Position(BACKWARD, key), self.query, self.now, self.secret)
