"""Which strings Willow can store and compare: the one rule every input is held to.

JSON can carry two things no SCIM value can be kept as: U+0000, which PostgreSQL text
columns refuse, and an unpaired surrogate (``"\\ud800"``), which is not a Unicode scalar
value and cannot be encoded as UTF-8 (RFC 8259 §8.2, RFC 7643 §2.3.1 "string"). Left
alone, either reaches the database driver and fails there as a 500; checked here, it is
the client's 400.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

#: How errors name the problem, so clients see the same words everywhere.
UNSTORABLE_DETAIL = "U+0000 or an unpaired surrogate, which no value can hold"


def is_storable(text: str) -> bool:
    if text.isascii():
        # Nearly every string: an ASCII string holds no surrogate, and a substring test
        # for U+0000 is several times faster than the regex.
        return "\x00" not in text
    return _UNSTORABLE.search(text) is None


def storable(text: str) -> str:
    """``text`` with every character no column can hold replaced by U+FFFD, for text that
    is kept whatever it holds (the request log records refused requests too)."""
    return text if is_storable(text) else _UNSTORABLE.sub("\ufffd", text)


#: In ASCII JSON text, the only way to spell U+0000 or a surrogate: as an escape (raw
#: U+0000 is invalid JSON).
_ESCAPED_UNSTORABLE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def may_hold_unstorable(json_text: str | bytes) -> bool:
    """False when the JSON text cannot hold a string ``first_unstorable`` would find, so
    the walk over the parsed body can be skipped; True does not mean it does. Only ASCII
    text is vouched for: ``json.loads`` reads bytes with ``surrogatepass`` (and guesses
    UTF-16 or UTF-32 from NUL bytes), so other bytes can carry a surrogate unescaped."""
    if isinstance(json_text, bytes):
        if not json_text.isascii() or b"\x00" in json_text:
            return True
        json_text = json_text.decode("ascii")
    elif not json_text.isascii():
        return True
    return _ESCAPED_UNSTORABLE.search(json_text) is not None


def first_unstorable(document: Any) -> str | None:
    """The first string (key or value) of a parsed JSON document that cannot be stored,
    or None. Iterative, so a deeply nested body cannot exhaust the stack."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_storable(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
