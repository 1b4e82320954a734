"""Redaction of request-log data, applied before anything reaches the database.

Pure functions: headers, query strings and bodies go in, the form that is safe to store
comes out. What counts as secret: ``password`` values at any depth and in any key case
(IdPs send ``password``, ``Password`` and the fully qualified core-schema attribute),
and any key that names a credential (authorization, token, secret, api key, bearer,
cookie...). A PATCH operation whose ``path`` names such an attribute has its ``value``
hidden too, since ``{"op": "replace", "path": "password", "value": "..."}`` carries the
secret under an innocent key.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from ..json_limits import TooDeep
from ..json_limits import loads as load_json

REDACTED = "[REDACTED]"
TRUNCATED_MARKER = "\n…[truncated by Willow: {total} bytes received, first {kept} stored]"
#: Stored instead of a body that may hold a secret but nests too deep to be walked.
TOO_DEEP_NOTE = "[body not stored: JSON nested too deep to redact]"

#: Request headers never stored at all: they carry the credential itself.
DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

# A key is secret when, lower-cased and without separators, it contains one of these.
_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "bearer",
    "cookie",
    "credential",
    "privatekey",
)
_SEPARATORS = re.compile(r"[-_\s.]")

# Cheap pre-checks, so that most bodies are stored without being parsed: a text with none
# of the words cannot hold a secret; in JSON, only a key or a PATCH path can name one, so
# a word seen only in values ("type": "oauthbearertoken") needs no parsing either.
_HINT_WORDS = (*_SECRET_WORDS, "api_key", "api-key", "private_key")
_WORDS = "|".join(_HINT_WORDS)
_SECRET_HINT = re.compile(_WORDS, re.IGNORECASE)
_JSON_SECRET_HINT = re.compile(
    r'"[^"]*(?:' + _WORDS + r')[^"]*"\s*:|"(?:path|filter)"\s*:\s*"[^"]*(?:' + _WORDS + ")",
    re.IGNORECASE,
)
# A comparison in a SCIM filter (RFC 7644 §3.4.2.2), as sent in a query string (where
# "+" may stand for a space) or a SearchRequest: attribute, operator, value.
_FILTER_COMPARISON = re.compile(
    r'([\w:.$-]+)((?:\s|\+)+(?:eq|ne|co|sw|ew|gt|ge|lt|le)(?:\s|\+)+)'
    r'("(?:[^"\\]|\\.)*"?|[^\s()\[\]&]+)',
    re.IGNORECASE,
)

# For text that is not valid JSON (truncated, malformed, form-encoded): hide the values of
# "key": "value" and key=value pairs whose key looks secret.
_KEY = r"[\w.:\-]*(?:" + "|".join(_SECRET_WORDS) + r"|api[_-]key|private[_-]key)[\w.:\-]*"
_JSON_PAIR = re.compile(r'("' + _KEY + r'"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)', re.IGNORECASE)
_FORM_PAIR = re.compile(r"(\b" + _KEY + r"=)([^&\s]*)", re.IGNORECASE)


def has_secret_word(text: str) -> bool:
    """Whether ``text`` contains one of the secret words in any case: the answer of
    ``_SECRET_HINT.search``, faster. Every request and response body is checked, and on
    ASCII text (nearly all of them) substring tests on the lower-cased text give the same
    answer several times faster than the regex. Other text keeps the regex: its
    case-insensitive matching also folds characters such as ``ı``, ``İ``, ``ſ`` and ``K``."""
    if text.isascii():
        lowered = text.lower()
        return any(word in lowered for word in _HINT_WORDS)
    return _SECRET_HINT.search(text) is not None


_COLON = re.compile(r"\s*:")
_PATH_VALUE_START = re.compile(r'"(?:path|filter)"\s*:\s*"')


def json_may_name_secret(text: str) -> bool:
    """Whether a JSON key, or the value of a ``path`` or ``filter``, in ``text`` contains a
    secret word: the answer of ``_JSON_SECRET_HINT.search``, faster on ASCII text. The
    regex tries every quote of the text; here only the places where a word occurs are
    looked at (each string once, so the work stays linear in the text)."""
    if not text.isascii():
        return _JSON_SECRET_HINT.search(text) is not None
    lowered = text.lower()
    value_starts: set[int] | None = None
    for word in _HINT_WORDS:
        at = lowered.find(word)
        while at != -1:
            opening = lowered.rfind('"', 0, at)
            if opening == -1:
                # Not inside a string; the next quote may open one.
                after = lowered.find('"', at)
                if after == -1:
                    break
                at = lowered.find(word, after)
                continue
            if value_starts is None:
                value_starts = {m.end() for m in _PATH_VALUE_START.finditer(lowered)}
            if opening + 1 in value_starts:
                return True  # "path": "...word... or "filter": "...word...
            closing = lowered.find('"', at + len(word))
            if closing == -1:
                break
            if _COLON.match(lowered, closing + 1):
                return True  # "...word...": a key
            # Every other occurrence in this string has the same answer.
            at = lowered.find(word, closing + 1)
    return False


# Header names and JSON keys repeat from one request to the next.
@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when a JSON key or header name names a credential. The last segment of a
    schema-qualified name counts (``urn:...:core:2.0:User:password``)."""
    name = _SEPARATORS.sub("", key.rsplit(":", 1)[-1].lower())
    return any(word in name for word in _SECRET_WORDS)


def redact_value(value: Any) -> Any:
    """A copy of a parsed JSON value with every secret value replaced by REDACTED."""
    if isinstance(value, Mapping):
        hide_value = _names_secret_path(value)
        rv = {}
        for key, item in value.items():
            if isinstance(key, str) and is_secret_key(key):
                rv[key] = _hide_leaves(item)
            elif isinstance(key, str) and key.lower() == "filter" and isinstance(item, str):
                rv[key] = redact_filter(item)
            elif hide_value and isinstance(key, str) and key.lower() == "value":
                rv[key] = _hide_leaves(item)
            else:
                rv[key] = redact_value(item)
        return rv
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    return value


def _hide_leaves(value: Any) -> Any:
    """Every string and number under a secret key hidden; booleans and nulls cannot carry
    a secret and are kept, so ``"changePassword": {"supported": false}`` stays readable."""
    if isinstance(value, Mapping):
        return {key: _hide_leaves(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide_leaves(item) for item in value]
    if value is None or isinstance(value, bool):
        return value
    return REDACTED


def _names_secret_path(operation: Mapping) -> bool:
    """True for a PATCH operation (RFC 7644 §3.5.2) whose path is a secret attribute:
    ``password``, ``urn:...:User:password``; Entra capitalises the keys (``Path``)."""
    for key, path in operation.items():
        if isinstance(key, str) and key.lower() == "path" and isinstance(path, str):
            attribute = path.split("[", 1)[0]
            return any(is_secret_key(part) for part in attribute.split(".") if part)
    return False


def redact_filter(text: str) -> str:
    """A SCIM filter with the values compared to a secret attribute hidden:
    ``password eq "hunter2"`` is stored as ``password eq "[REDACTED]"``. No password is
    ever returned, so such a filter matches nothing, but a client can send one, and the
    filter (query string or SearchRequest) is stored in the request log."""
    if not has_secret_word(text):
        return text

    def hide(match: re.Match) -> str:
        if not is_secret_key(match.group(1)):
            return match.group(0)
        return f'{match.group(1)}{match.group(2)}"{REDACTED}"'

    return _FILTER_COMPARISON.sub(hide, text)


def redact_text(text: str) -> str:
    """Hide secret values in text that could not be parsed as JSON."""
    if not has_secret_word(text):
        return text
    text = _JSON_PAIR.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
    return _FORM_PAIR.sub(lambda m: m.group(1) + REDACTED, text)


def redact_body(raw: bytes | str | None, max_bytes: int) -> str | None:
    """The body as it may be stored: redacted, then capped at ``max_bytes`` bytes of UTF-8
    with a visible marker. JSON keeps its original shape unless something was hidden;
    anything else is stored as text."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
    if not text:
        return None
    return truncate(_redacted(text), max_bytes)


# The discovery documents (ServiceProviderConfig, Schemas, ResourceTypes) name password and
# bearer-token attributes, so every response would be parsed and compared again only to
# find nothing to hide. Small texts that were parsed and came out unchanged are remembered
# (they hold no secret, by that very check), and a text seen again is stored as is. At most
# _UNCHANGED_MAX texts of at most _UNCHANGED_CHARS characters: the set is emptied when full.
_UNCHANGED: set[str] = set()
_UNCHANGED_MAX = 128
_UNCHANGED_CHARS = 16 * 1024


def _redacted(text: str) -> str:
    if text in _UNCHANGED:
        return text
    if "\\u" in text or (
        # A \u escape can spell a key the pre-checks cannot see ("pass\u0077ord").
        has_secret_word(text)
        and (not text.lstrip().startswith(("{", "[")) or json_may_name_secret(text))
    ):
        redacted = _redact_json_or_text(text)
        if redacted is text and len(text) <= _UNCHANGED_CHARS:
            if len(_UNCHANGED) >= _UNCHANGED_MAX:
                _UNCHANGED.clear()
            _UNCHANGED.add(text)
        return redacted
    return text


def _redact_json_or_text(text: str) -> str:
    try:
        parsed = load_json(text)
    except TooDeep:
        # Too deep to walk safely, and the text patterns cannot see a secret nested in
        # it: nothing of it is kept (the request itself was refused with a 400).
        return TOO_DEEP_NOTE
    except ValueError:
        return redact_text(text)
    redacted = redact_value(parsed)
    if redacted == parsed:
        return text
    return json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))


def truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` bytes of UTF-8 (never inside a character),
    followed by a marker saying how much was received."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    kept = encoded[: max(max_bytes, 0)].decode("utf-8", errors="ignore")
    return kept + TRUNCATED_MARKER.format(total=len(encoded), kept=len(kept.encode("utf-8")))


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers to store: credentials dropped, secret-looking ones hidden.
    Repeated headers are joined with ", " (RFC 9110 §5.3)."""
    rv: dict[str, str] = {}
    for name, value in headers:
        _add_header(rv, name, value)
    return rv


@functools.lru_cache(maxsize=512)
def _header_rule(name: str) -> tuple[bool, bool]:
    """(dropped, secret) for a header name; names repeat on every request from an IdP."""
    return name.lower() in DROPPED_HEADERS, is_secret_key(name)


def _add_header(rv: dict[str, str], name: str, value: str) -> None:
    dropped, secret = _header_rule(name)
    if not dropped:
        _put_header(rv, name, value, secret)


def _put_header(rv: dict[str, str], name: str, value: str, secret: bool) -> None:
    """Store a kept header, hidden when secret; a repeated one is joined with ", "."""
    if secret:
        value = REDACTED
    rv[name] = f"{rv[name]}, {value}" if name in rv else value


def _environ_header(key: str) -> str | None:
    """The header name, as Werkzeug spells it, of a WSGI environ key; None when the key is
    no header."""
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return key[5:].replace("_", "-").title()
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key.replace("_", "-").title()
    return None


#: environ key → (header name, dropped, secret, kept when empty), or None for a key that
#: is no header. Keys repeat on every request; clients choose them, so the map is bounded
#: (emptied when full).
_ENVIRON_RULES: dict[str, tuple[str, bool, bool, bool] | None] = {}
_ENVIRON_RULES_MAX = 1024


def _environ_rule(key: str) -> tuple[str, bool, bool, bool] | None:
    name = _environ_header(key) if key.isupper() else None
    rule = None if name is None else (name, *_header_rule(name), key.startswith("HTTP_"))
    if len(_ENVIRON_RULES) >= _ENVIRON_RULES_MAX:
        _ENVIRON_RULES.clear()
    _ENVIRON_RULES[key] = rule
    return rule


def redact_environ_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """``redact_headers`` of a WSGI request's headers, read straight from its environ."""
    rv: dict[str, str] = {}
    rules = _ENVIRON_RULES
    for key, value in environ.items():
        if not isinstance(key, str):
            continue
        try:
            rule = rules[key]
        except KeyError:
            rule = _environ_rule(key)
        if rule is None:
            continue  # server and middleware keys (wsgi.input, willow.path_as_sent)
        name, dropped, secret, kept_empty = rule
        if not dropped and (value or kept_empty):
            _put_header(rv, name, value, secret)
    return rv


def redact_query(query: str) -> str:
    """A query string with secret-looking parameters hidden (``?access_token=...``)."""
    if not query or not has_secret_word(query):
        return query
    return redact_filter(_FORM_PAIR.sub(lambda m: m.group(1) + REDACTED, query))
