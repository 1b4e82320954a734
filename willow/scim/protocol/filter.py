"""SCIM filters and PATCH paths: tokenizer, recursive-descent parser, AST, in-memory match.

Implements the filter grammar of RFC 7644 §3.4.2.2 and the PATCH ``path`` grammar of
RFC 7644 §3.5.2. Pure: no database and no request. Two consumers walk the AST:
``willow.scim.store.filter_sql`` compiles it to a SQL WHERE clause for list queries, and
:func:`matches` evaluates a value filter against one element of a multi-valued attribute
for PATCH.

Leniency beyond the RFC, because real identity providers send it:

- keywords, operators and ``true``/``false``/``null`` in any case (``username EQ "x"``);
- bare, unquoted values (``externalId eq jyoung``, from Entra ID's older docs) read as
  strings;
- ``emails[type eq "work"].value co "x"``, a value filter followed by a sub-attribute, read
  as ``emails[type eq "work" and value co "x"]``;
- ``not(...)`` with or without a space.

Not supported: a value filter nested inside another (RFC 7644 §3.4.2.2 has ``valFilter``
exclude it), and paths inside brackets that carry a URN or a sub-attribute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from willow.numbers import INT64_MAX
from willow.numbers import INT64_MIN
from willow.numbers import OutOfRange
from willow.numbers import parse_integer

from .errors import InvalidFilter
from .errors import InvalidPath
from .schema import SCHEMAS
from .text import UNSTORABLE_DETAIL
from .text import is_storable

#: Longest filter or path accepted, in characters. Real filters are under 300.
MAX_LENGTH = 8192
#: Deepest nesting of parentheses, ``not`` and brackets accepted.
MAX_DEPTH = 50
#: Most comparisons (``attr op value``, ``attr pr``) in one filter or path, counting those
#: inside brackets. IdPs send one to a few. SQLite refuses an expression tree deeper than
#: 1,000 ("Expression tree is too large"): measured, ``or`` chains fail from 499 ``ne``
#: terms (two nodes each) and from 986 to 998 of the other kinds, while 8,192 characters
#: hold 600 ``ne`` terms. 200 leaves SQLite a 2.5x margin; PostgreSQL took 1,200 of each.
MAX_TERMS = 200

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
ORDER_OPS = frozenset({"gt", "ge", "lt", "le"})
SUBSTRING_OPS = frozenset({"co", "sw", "ew"})
KEYWORDS = frozenset({"and", "or", "not"})

Value = str | int | float | bool | None


@dataclass(frozen=True)
class AttrPath:
    """``[uri ":"] attr ["." sub_attr]``, names kept as written (RFC 7644 §3.10)."""

    uri: str | None
    attr: str
    sub_attr: str | None

    def __str__(self) -> str:
        rv = f"{self.uri}:{self.attr}" if self.uri else self.attr
        return f"{rv}.{self.sub_attr}" if self.sub_attr else rv


@dataclass(frozen=True)
class Compare:
    """``path op value``; ``op`` is lower-cased, ``value`` is None for ``pr``."""

    path: AttrPath
    op: str
    value: Value


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    expr: Filter


@dataclass(frozen=True)
class ValuePath:
    """``path[filter]``: the inner filter applies to one element at a time, and its paths
    are relative to the element (``AttrPath(None, "type", None)``)."""

    path: AttrPath
    filter: Filter


Filter = Compare | And | Or | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH operation's target (RFC 7644 §3.5.2).

    ``attr`` is "" when the path is exactly a schema URN, such as
    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`` (the whole extension).
    """

    uri: str | None
    attr: str
    value_filter: Filter | None
    sub_attr: str | None


# --- Tokenizer -------------------------------------------------------------------------

_NAME = r"\$?[A-Za-z][A-Za-z0-9_$-]*"
_NAME_RE = re.compile(_NAME)
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WORD_RE = re.compile(r'[^\s()\[\]"]+')
_SPACE_RE = re.compile(r"\s+")
_HEX4_RE = re.compile(r"[0-9A-Fa-f]{4}")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" ")" "[" "]" "string" "word" "end"
    text: str
    pos: int  # 1-based character position, for error messages
    value: str | None = None  # decoded text of a string token


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _read_string(text: str, start: int, error: type[Exception]) -> tuple[str, int]:
    """Decode the JSON string literal starting at ``text[start] == '"'`` (RFC 8259 §7).

    Returns the decoded value and the index just past the closing quote.
    """
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            value = "".join(out)
            if not is_storable(value):
                raise error(f"The string at position {start + 1} contains {UNSTORABLE_DETAIL}.")
            return value, i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = text[i + 1 : i + 2]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif esc == "u" and _HEX4_RE.fullmatch(text, i + 2, i + 6):
            code = int(text[i + 2 : i + 6], 16)
            i += 6
            low = _low_surrogate(text, i) if 0xD800 <= code <= 0xDBFF else None
            if low is not None:
                # A character beyond U+FFFF, escaped as a pair (RFC 8259 §7).
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                i += 6
            out.append(chr(code))
        else:
            shown = "\\" + (text[i + 1 : i + 6] if esc == "u" else esc)
            raise error(f"Unknown escape {shown!r} in the string at position {start + 1}.")
    raise error(f"The string starting at position {start + 1} has no closing quote.")


def _low_surrogate(text: str, i: int) -> int | None:
    """The code of a ``\\uDC00``-``\\uDFFF`` escape at ``text[i]``, or None."""
    if text[i : i + 2] != "\\u" or not _HEX4_RE.fullmatch(text, i + 2, i + 6):
        return None
    code = int(text[i + 2 : i + 6], 16)
    return code if 0xDC00 <= code <= 0xDFFF else None


def _tokenize(text: str, error: type[Exception]) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        space = _SPACE_RE.match(text, i)
        if space:
            i = space.end()
            continue
        ch = text[i]
        if ch in "()[]":
            tokens.append(_Token(ch, ch, i + 1))
            i += 1
        elif ch == '"':
            value, end = _read_string(text, i, error)
            tokens.append(_Token("string", text[i:end], i + 1, value))
            i = end
        else:
            word = _WORD_RE.match(text, i)
            assert word is not None  # every other character starts a word
            tokens.append(_Token("word", word.group(), i + 1))
            i = word.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# --- Parser ----------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the tokens, one method per grammar rule.

    Precedence, from RFC 7644 §3.4.2.2: grouping, then ``not`` over ``and`` over ``or``.
    ``and``/``or`` chains are built left-associative: ``a or b or c`` is
    ``Or(Or(a, b), c)``.
    """

    def __init__(self, text: str, error: type[Exception], what: str):
        self.error = error
        self.what = what
        if not text or not text.strip():
            raise error(f"The {what} is empty.")
        if len(text) > MAX_LENGTH:
            raise error(f"The {what} is longer than {MAX_LENGTH} characters.")
        if not is_storable(text):
            raise error(f"The {what} contains {UNSTORABLE_DETAIL}.")
        self.tokens = _tokenize(text, error)
        self.i = 0
        self.depth = 0
        self.terms = 0

    # helpers

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str, tok: _Token | None = None) -> Exception:
        tok = tok or self.tok
        found = "the end of the " + self.what if tok.kind == "end" else _show(tok.text)
        return self.error(f"Expected {expected} at position {tok.pos}, found {found}.")

    def keyword(self, name: str) -> bool:
        return self.tok.kind == "word" and self.tok.text.lower() == name

    def expect(self, kind: str, expected: str) -> _Token:
        if self.tok.kind != kind:
            raise self.fail(expected)
        return self.advance()

    def nest(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"The {self.what} nests deeper than {MAX_DEPTH} levels at position {tok.pos}."
            )

    def finish(self) -> None:
        if self.tok.kind != "end":
            raise self.fail("'and', 'or' or the end of the " + self.what)

    # grammar

    def filter(self, inner: bool = False) -> Filter:
        node = self.and_expr(inner)
        while self.keyword("or"):
            self.advance()
            node = Or(node, self.and_expr(inner))
        return node

    def and_expr(self, inner: bool) -> Filter:
        node = self.not_expr(inner)
        while self.keyword("and"):
            self.advance()
            node = And(node, self.not_expr(inner))
        return node

    def not_expr(self, inner: bool) -> Filter:
        if self.keyword("not"):
            tok = self.advance()
            if self.tok.kind != "(":
                raise self.fail("'(' after 'not'")
            self.nest(tok)
            self.advance()
            node = Not(self.filter(inner))
            self.expect(")", "')'")
            self.depth -= 1
            return node
        return self.primary(inner)

    def primary(self, inner: bool) -> Filter:
        tok = self.tok
        if tok.kind == "(":
            self.nest(tok)
            self.advance()
            node = self.filter(inner)
            self.expect(")", "')'")
            self.depth -= 1
            return node
        path = self.attr_path(inner)
        if self.tok.kind == "[":
            if inner:
                raise self.error(
                    f"A value filter cannot be nested in another, at position {self.tok.pos}."
                )
            return self.value_path(path, tok)
        return self.comparison(path)

    def value_path(self, path: AttrPath, start: _Token) -> Filter:
        """``attr[filter]``, and the non-RFC ``attr[filter].sub op value`` that Entra ID
        sends, which means the same as ``attr[filter and sub op value]``."""
        if path.sub_attr is not None:
            raise self.error(
                f"A value filter applies to a multi-valued attribute, not to the "
                f"sub-attribute {str(path)!r} (position {start.pos})."
            )
        inner = self.bracket_filter()
        sub = self.sub_attr_after_bracket()
        if sub is not None:
            inner = And(inner, self.comparison(AttrPath(None, sub, None)))
        return ValuePath(path, inner)

    def sub_attr_after_bracket(self) -> str | None:
        """The ``.sub`` that may follow ``attr[filter]``, or None."""
        if not (self.tok.kind == "word" and self.tok.text.startswith(".")):
            return None
        sub_tok = self.advance()
        sub = sub_tok.text[1:]
        if not _NAME_RE.fullmatch(sub):
            raise self.fail("a sub-attribute name after ']'", sub_tok)
        return sub

    def bracket_filter(self) -> Filter:
        tok = self.expect("[", "'['")
        self.nest(tok)
        if self.tok.kind == "]":
            raise self.fail("a filter inside '[...]'")
        node = self.filter(inner=True)
        self.expect("]", "']'")
        self.depth -= 1
        return node

    def comparison(self, path: AttrPath) -> Compare:
        tok = self.tok
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(
                f"The {self.what} has more than {MAX_TERMS} comparisons (the one at position "
                f"{tok.pos} is one too many); split it into several requests."
            )
        op = tok.text.lower() if tok.kind == "word" else ""
        if op == "pr":
            self.advance()
            return Compare(path, "pr", None)
        if op not in COMPARE_OPS:
            raise self.fail(
                f"an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after {str(path)!r}"
            )
        self.advance()
        value = self.comp_value(op)
        if op in ORDER_OPS and (value is None or isinstance(value, bool)):
            raise self.error(
                f"{op!r} compares strings, numbers and dates; it cannot compare with "
                f"{json.dumps(value)} (position {tok.pos})."
            )
        if op in SUBSTRING_OPS and (value is None or isinstance(value, bool)):
            raise self.error(
                f"{op!r} needs a string value, not {json.dumps(value)} (position {tok.pos})."
            )
        return Compare(path, op, value)

    def comp_value(self, op: str) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return tok.value
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise self.fail(f"a value after {op!r}")
        self.advance()
        lowered = tok.text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if _NUMBER_RE.fullmatch(tok.text):
            return self.number(tok)
        # Entra ID's unquoted values (externalId eq jyoung): a bare word is a string.
        return tok.text

    def number(self, tok: _Token) -> int | float:
        """A JSON number literal (RFC 8259 §6: ASCII digits only). An integer must fit 64
        bits, the widest integer Willow stores, and is read by Willow's one number rule
        (:func:`willow.numbers.parse_integer`), so thousands of digits never reach int()."""
        out_of_range = self.error(
            f"The number at position {tok.pos} is out of range; integers go from "
            f"{INT64_MIN} to {INT64_MAX} (quote it to compare it as text)."
        )
        if not any(c in tok.text for c in ".eE"):
            try:
                return parse_integer(tok.text, INT64_MIN, INT64_MAX)
            except OutOfRange:
                raise out_of_range from None
        number = float(tok.text)
        if number in (float("inf"), float("-inf")):
            raise out_of_range
        return number

    def attr_path(self, inner: bool) -> AttrPath:
        tok = self.tok
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise self.fail("an attribute name")
        self.advance()
        path = split_attr_path(tok.text)
        if path is None:
            raise self.fail("an attribute name", tok)
        if inner and (path.uri or path.sub_attr):
            raise self.error(
                f"Inside '[...]', name a sub-attribute of the attribute before it "
                f"(such as 'type' or 'value'), not {tok.text!r} (position {tok.pos})."
            )
        return path


def split_attr_path(text: str) -> AttrPath | None:
    """Split ``[uri:]attr[.sub]`` (RFC 7644 §3.10), or None when it is not one.

    A URN contains dots ("2.0"), so the attribute is what follows its last ':'. Also used
    for ``sortBy`` (RFC 7644 §3.4.2.3).
    """
    uri: str | None = None
    rest = text
    if ":" in text:
        uri, _, rest = text.rpartition(":")
        if not uri:
            return None
    attr, dot, sub = rest.partition(".")
    if not _NAME_RE.fullmatch(attr) or (dot and not _NAME_RE.fullmatch(sub)):
        return None
    return AttrPath(uri, attr, sub or None)


#: ``attr op "string"`` without escapes: the shape of nearly every filter an IdP sends
#: (``userName eq "…"`` before each create), read without the tokenizer. Anything else,
#: and anything this would read differently, goes to the parser.
_SIMPLE_COMPARISON = re.compile(r'\s*([^\s()\[\]"]+)\s+([A-Za-z]{2})\s+"([^"\\]*)"\s*')


def _simple_comparison(text: str) -> Compare | None:
    if len(text) > MAX_LENGTH:
        return None  # the parser refuses it, before reading it
    match = _SIMPLE_COMPARISON.fullmatch(text)
    if match is None or not is_storable(text):
        return None
    name, op = match.group(1), match.group(2).lower()
    if op not in COMPARE_OPS or name.lower() in KEYWORDS:
        return None
    path = split_attr_path(name)
    return Compare(path, op, match.group(3)) if path is not None else None


def parse_filter(text: str) -> Filter:
    """Parse a ``filter`` parameter (RFC 7644 §3.4.2.2) into its AST.

    Any syntax error raises :class:`~willow.scim.protocol.errors.InvalidFilter` saying what was
    expected and at which (1-based) character position. Whether the attributes exist is
    checked by the consumer (``filter_sql.compile_filter``), which knows the resource type.
    """
    simple = _simple_comparison(text)
    if simple is not None:
        return simple
    parser = _Parser(text, InvalidFilter, "filter")
    node = parser.filter()
    parser.finish()
    return node


def parse_patch_path(text: str) -> PatchPath:
    """Parse a PATCH operation's ``path`` (RFC 7644 §3.5.2): ``attr``, ``attr.sub``,
    ``attr[filter]``, ``attr[filter].sub``, each optionally URN-prefixed.

    Errors raise :class:`~willow.scim.protocol.errors.InvalidPath`.
    """
    parser = _Parser(text, InvalidPath, "path")
    stripped = text.strip()
    for schema_id in SCHEMAS:
        if stripped.lower() == schema_id.lower():
            return PatchPath(stripped, "", None, None)
    path = parser.attr_path(inner=False)
    value_filter: Filter | None = None
    sub_attr = path.sub_attr
    if parser.tok.kind == "[":
        if path.sub_attr is not None:
            raise InvalidPath(
                f"A value filter applies to a multi-valued attribute, not to the "
                f"sub-attribute {str(path)!r}."
            )
        value_filter = parser.bracket_filter()
        sub_attr = parser.sub_attr_after_bracket()
    if parser.tok.kind != "end":
        raise parser.fail("the end of the path")
    return PatchPath(path.uri, path.attr, value_filter, sub_attr)


def operands(node: And | Or) -> list[Filter]:
    """The terms of a chain of one logical operator, in order: ``a and b and c`` gives
    ``[a, b, c]``. Iterative, so a long chain cannot exhaust the stack of a consumer."""
    kind = type(node)
    rv: list[Filter] = []
    stack: list[Filter] = [node]
    while stack:
        current = stack.pop()
        if type(current) is kind:
            stack.append(current.right)
            stack.append(current.left)
        else:
            rv.append(current)
    return rv


# --- In-memory evaluation --------------------------------------------------------------


def _lookup(element: dict, name: str) -> object:
    """``element[name]`` with the key compared case-insensitively (RFC 7643 §2.1)."""
    if name in element:
        return element[name]
    lowered = name.lower()
    for key, value in element.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _present(value: object) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return False
    if isinstance(value, dict):
        return any(_present(v) for v in value.values())
    return True


def _coerce(actual: object, expected: Value) -> object:
    """Read an element's ``"True"``/``"False"`` string as a boolean when the filter
    compares with a boolean (Entra ID sends booleans as strings)."""
    if isinstance(expected, bool) and isinstance(actual, str):
        if actual.lower() in ("true", "false"):
            return actual.lower() == "true"
    return actual


def _compare(actual: object, op: str, expected: Value, case_exact: bool) -> bool:
    if op == "pr":
        return _present(actual)
    if op == "ne":
        return not _compare(actual, "eq", expected, case_exact)
    actual = _coerce(actual, expected)
    if expected is None:  # eq null
        return actual is None
    if actual is None:
        return False
    if (
        isinstance(actual, str)
        and isinstance(expected, int | float)
        and not isinstance(expected, bool)
    ):
        # An unquoted number against a string (employeeNumber eq 1234) means its text.
        expected = str(expected)
    if isinstance(actual, str) and isinstance(expected, str):
        if not case_exact:
            actual, expected = actual.lower(), expected.lower()
    elif isinstance(actual, bool) or isinstance(expected, bool):
        if not (isinstance(actual, bool) and isinstance(expected, bool)) or op != "eq":
            return False
    elif not (isinstance(actual, int | float) and isinstance(expected, int | float)):
        return False
    if op == "eq":
        return actual == expected
    if op == "co":
        return expected in actual
    if op == "sw":
        return actual.startswith(expected)
    if op == "ew":
        return actual.endswith(expected)
    if op == "gt":
        return actual > expected
    if op == "ge":
        return actual >= expected
    if op == "lt":
        return actual < expected
    return actual <= expected  # le


def matches(node: Filter, element: dict, case_exact: Callable[[str], bool] | None = None) -> bool:
    """Whether one element of a multi-valued attribute satisfies a value filter.

    Used by PATCH for paths like ``emails[type eq "work"]`` (RFC 7644 §3.5.2). Keys are
    matched case-insensitively. Strings compare case-insensitively unless
    ``case_exact(sub_attr_name)`` is true. ``pr`` means present and not empty; ``ne``
    matches a missing value, as the SQL compiler does. A value of another type than the
    filter's (a number against a string, say) does not match.
    """
    if isinstance(node, And):
        return all(matches(term, element, case_exact) for term in operands(node))
    if isinstance(node, Or):
        return any(matches(term, element, case_exact) for term in operands(node))
    if isinstance(node, Not):
        return not matches(node.expr, element, case_exact)
    if isinstance(node, ValuePath):
        items = _lookup(element, node.path.attr)
        items = items if isinstance(items, list) else []
        return any(
            isinstance(item, dict) and matches(node.filter, item, case_exact) for item in items
        )
    name = node.path.attr
    actual = _lookup(element, name)
    if node.path.sub_attr is not None:
        name = node.path.sub_attr
        actual = _lookup(actual, name) if isinstance(actual, dict) else None
    exact = bool(case_exact and case_exact(name))
    return _compare(actual, node.op, node.value, exact)
