"""JSON from outside, parsed only when its nesting is bounded.

``json.loads`` and every walker of its result (redaction, normalisation, ``deepcopy``,
``json.dumps``) recurse once per level of nesting: a body of a few thousand ``[`` (a few
kilobytes, far under the request-size limit) exhausts the stack and the request ends in a
500 instead of a 400, and its log row is lost too. SCIM documents are shallow (RFC 7643
§2.3.8: a complex attribute has no complex sub-attributes; a PatchOp or SearchRequest adds
two or three levels), so the raw text is measured first, without recursion, and refused
when it nests deeper than :data:`MAX_DEPTH`.

Used for request bodies (``willow.scim.http``) and for the bodies the request log stores
(``willow.monitor``): one rule, one place.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deepest nesting of arrays and objects accepted. The deepest valid SCIM request is a
#: PatchOp whose value holds a multi-valued complex attribute: 5 levels.
MAX_DEPTH = 32

# A JSON string literal (RFC 8259 §7), unrolled so that a long string is one regex step.
# Brackets inside strings do not nest, so strings are taken out before counting. The
# closing quote is optional: an unterminated string then ends the text in one match,
# instead of every later quote starting another scan to the end (quadratic time).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_OPEN = frozenset(b"[{")


#: Most digits of an integer literal read. Python's int() refuses more than 4,300 digits (a
#: guard against quadratic conversion), which json.loads reports as text that is not JSON;
#: no SCIM value comes near this many, so a longer one is named for what it is.
MAX_INT_DIGITS = 1000


class NumberTooLong(ValueError):
    """An integer literal of more than :data:`MAX_INT_DIGITS` digits."""

    def __init__(self, limit: int = MAX_INT_DIGITS):
        super().__init__(f"JSON number of more than {limit} digits")
        self.limit = limit


def _parse_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS + 1:  # one more for a minus sign
        raise NumberTooLong()
    return int(text)


class TooDeep(ValueError):
    """The text nests arrays and objects deeper than allowed. A ValueError, so callers
    that already treat "not valid JSON" as such treat this the same way."""

    def __init__(self, limit: int):
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def nesting_depth(raw: bytes | str, limit: int = MAX_DEPTH) -> int:
    """How deep ``raw`` nests arrays and objects, counted up to ``limit + 1`` (then it
    stops: anything deeper is too deep). Iterative; linear in the length of ``raw``.
    UTF-8 multi-byte sequences contain no ASCII bytes, so counting bytes is exact even
    when the text is not valid UTF-8."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def loads(raw: bytes | str, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted text: :class:`TooDeep` (a ValueError) when it nests
    deeper than ``limit``; :class:`NumberTooLong` (a ValueError) for an integer of too
    many digits; ValueError (or UnicodeDecodeError) when it is not JSON."""
    if nesting_depth(raw, limit) > limit:
        raise TooDeep(limit)
    return json.loads(raw, parse_int=_parse_int)
