"""The one rule for integers that come from outside Willow.

Query strings (``startIndex``, ``count``, the console's ``?page=``), SearchRequest bodies,
filter and PATCH-path literals, console URLs (log entry, token and session ids) and cursors
all read their integers with :func:`parse_integer`.

RFC 7644 numbers are JSON numbers (RFC 8259 §6) built from ABNF ``DIGIT`` (RFC 5234
appendix B.1): ASCII 0-9. Python's ``int()`` is wider and narrower at once: it reads
``99_999``, fullwidth ``１`` and Arabic-Indic ``١``, and it refuses more than 4,300 digits
with a ValueError. A number that reaches a query unchecked then fails inside the
database driver (SQLite's ``OverflowError`` or PostgreSQL's ``bigint out of range`` above
2^63), which used to be a 500. So here:

* a number is an optional ``-`` and ASCII digits; surrounding spaces and tabs are
  ignored; ``+``, ``_``, inner spaces and other scripts' digits are not numbers;
* digits are counted before ``int()`` runs, so no input reaches the 4,300-digit limit;
* a value outside ``[lowest, highest]`` is clamped to the nearest bound or refused, as the
  caller says (RFC 7644 §3.4.2.4 clamps ``startIndex`` and ``count``; an id beyond any
  column cannot name a row).

Pure: imports nothing from Flask or the database.
"""

from __future__ import annotations

import math
import re

#: The largest value of a 64-bit signed integer: PostgreSQL ``bigint``, SQLite ``INTEGER``,
#: and so the largest id, ``OFFSET`` or ``LIMIT`` either database takes.
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

_INTEGER_RE = re.compile(r"(-?)([0-9]+)")


class NotAnInteger(ValueError):
    """The input is not written as an integer (ASCII digits with an optional ``-``)."""


class OutOfRange(ValueError):
    """The input is an integer outside the range the caller accepts."""

    def __init__(self, lowest: int, highest: int):
        super().__init__(f"must be between {lowest} and {highest}")
        self.lowest = lowest
        self.highest = highest


def parse_integer(raw: object, lowest: int, highest: int, *, clamp: bool = False) -> int:
    """``raw`` as an integer in ``[lowest, highest]``.

    ``raw`` is text (a query argument, a URL segment, a JSON string), a JSON integer, or a
    JSON number with no fraction (``10.0``). ``true``/``false`` are not numbers. Raises
    :class:`NotAnInteger` for anything else; outside the range, returns the nearest bound
    when ``clamp`` is true and raises :class:`OutOfRange` otherwise.
    """
    if isinstance(raw, bool):
        raise NotAnInteger("true and false are not numbers")
    if isinstance(raw, float):
        if not math.isfinite(raw) or not raw.is_integer():
            raise NotAnInteger("not a whole number")
        raw = int(raw)
    if isinstance(raw, int):
        return _bounded(raw, lowest, highest, clamp)
    if not isinstance(raw, str):
        raise NotAnInteger("not a number")
    match = _INTEGER_RE.fullmatch(raw.strip(" \t"))
    if match is None:
        raise NotAnInteger("not written with the digits 0-9")
    sign, digits = match.group(1), match.group(2).lstrip("0") or "0"
    widest = max(len(str(abs(lowest))), len(str(abs(highest))))
    if len(digits) > widest:
        # Beyond both bounds whatever the digits: no int() of a number this long.
        return _beyond(-1 if sign else 1, lowest, highest, clamp)
    return _bounded(int(sign + digits), lowest, highest, clamp)


def _bounded(value: int, lowest: int, highest: int, clamp: bool) -> int:
    if lowest <= value <= highest:
        return value
    return _beyond(-1 if value < lowest else 1, lowest, highest, clamp)


def _beyond(side: int, lowest: int, highest: int, clamp: bool) -> int:
    if not clamp:
        raise OutOfRange(lowest, highest)
    return lowest if side < 0 else highest


def database_id(raw: object) -> int | None:
    """An integer row id from a URL or a form, or None when no row can have it (not a
    number, below 1, or beyond a 64-bit column): the caller answers 404."""
    try:
        return parse_integer(raw, 1, INT64_MAX)
    except ValueError:
        return None
