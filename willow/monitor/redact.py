"""Redaction of request-log data, applied before anything reaches the database.

Pure functions: headers, query strings and bodies go in, the form that is safe to store
comes out. What counts as secret: ``password`` values at any depth and in any key case
(IdPs send ``password``, ``Password`` and the fully qualified core-schema attribute),
and any key that names a credential (authorization, token, secret, api key, bearer,
cookie...). A PATCH operation whose ``path`` names such an attribute has its ``value``
hidden too, since ``{"op": "replace", "path": "password", "value": "..."}`` carries the
secret under an innocent key. Headers are judged by their name and by their value's
shape (``Bearer …``, ``Basic …``), and a Willow API token is hidden wherever it appears.

Every scan here reads untrusted text, often before any token was checked, so each one is
linear in the text: no pattern has nested or overlapping quantifiers that backtrack, runs
are consumed possessively (``*+``) from where they start, and the hand-written scanners
only move forward. ``tests/hardening/test_scanner_timing.py`` holds them to it with a
megabyte of adversarial input each.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from ..console.tokens import TOKEN_PREFIX
from ..server.json_limits import MAX_DEPTH
from ..server.json_limits import nesting_depth

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
# A header is secret when its name, so normalised, contains one of these: gateways and
# function hosts name their keys freely (X-Functions-Key, Ocp-Apim-Subscription-Key,
# X-Auth, X-Hub-Signature). Broader than for JSON keys, where "key" and "auth" would
# hide attributes such as authenticationSchemes.
_HEADER_WORDS = (*_SECRET_WORDS, "key", "auth", "signature", "session")
# Keys and header names longer than this are judged without the caches: the caches hold
# their keys, and a client chooses them (a megabyte each would pile up in memory).
_CACHED_NAME_CHARS = 256

# Cheap pre-checks, so that most bodies are stored without being parsed: a text with none
# of the words cannot hold a secret; in JSON, only a key or a PATCH path can name one, so
# a word seen only in values ("type": "oauthbearertoken") needs no parsing either.
_HINT_WORDS = (*_SECRET_WORDS, "api_key", "api-key", "private_key")
_SECRET_HINT = re.compile("|".join(_HINT_WORDS), re.IGNORECASE)

# A comparison in a SCIM filter (RFC 7644 §3.4.2.2), as sent in a query string (where
# "+" may stand for a space) or a SearchRequest: attribute, operator, value. The
# attribute starts where a run of name characters starts (the lookbehind), and every run
# is taken whole (possessive): each character is read a bounded number of times, where
# the former pattern retried a long run from each of its characters (quadratic).
_FILTER_COMPARISON = re.compile(
    r"(?<![\w:.$-])([\w:.$-]++)((?:\s|\+)++(?:eq|ne|co|sw|ew|gt|ge|lt|le)(?:\s|\+)++)"
    r'("[^"\\]*+(?:\\.[^"\\]*+)*+"?|[^\s()\[\]&]++)',
    re.IGNORECASE | re.DOTALL,
)

# For text that is not valid JSON (truncated, malformed, single-quoted, form-encoded,
# XML, multipart): the rest of the key a secret word is part of (``access_token``,
# ``urn:…:User:password``; a trailing ":" is the separator, not the key), ...
_KEY_REST = re.compile(r"[\w.\-]*+(?::[\w.\-]++)*+")
# ... then what separates a key from its value: ``key=value`` (forms, query strings,
# XML attributes), ``"key": value`` (JSON, single-quoted or not), ``<key>value``, or
# ``name="key"`` + the part's header lines + a blank line (multipart/form-data). The
# multipart lines are bounded, so a key repeated on one long line costs little each.
_KEY_SEPARATOR = re.compile(
    r"[\"']?[ \t]*+([:=>])[ \t]*+"
    r'|"(?:;[^\r\n]{0,200}+)?(?:\r?\n[^\r\n]{1,200}+){0,8}+\r?\n\r?\n'
)
_QUOTED = {
    '"': re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL),
    "'": re.compile(r"'[^'\\]*+(?:\\.[^'\\]*+)*+'?", re.DOTALL),
}
_UNQUOTED = {
    "=": re.compile(r"[^&\s]*+"),
    ":": re.compile(r"[^,}\]\r\n]*+"),
    ">": re.compile(r"[^<]*+"),
    "": re.compile(r"[^\r\n]*+"),  # the first line of a multipart part
}
# Strings (skipped whole) and brackets: what a bracketed value's end is found with.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{}]', re.DOTALL)

# A Willow API token (willow.console.tokens: the prefix and 43 characters of base64url), wherever
# it appears; its first characters are the display prefix the console already shows, so
# they are kept to tell which token leaked. Shorter runs are cut-off or made-up tokens,
# still hidden past the display prefix.
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"([A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]{4,}+")

# A header value in the credentials syntax of RFC 9110 §11.4 (scheme, then the secret):
# hidden after the scheme in any header, whatever its name (``X-Auth: Bearer …``).
_CREDENTIAL_SCHEMES = (
    "bearer",
    "basic",
    "digest",
    "negotiate",
    "ntlm",
    "ssws",
    "token",
    "apikey",
    "api-key",
    "oauth",
    "hoba",
    "mutual",
    "scram-sha-1",
    "scram-sha-256",
    "aws4-hmac-sha256",
)
_CREDENTIALS = re.compile(
    r"\s*+(" + "|".join(re.escape(s) for s in _CREDENTIAL_SCHEMES) + r")\s++\S",
    re.IGNORECASE,
)


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


_COLON = re.compile(r"\s*+:")
_PATH_VALUE_START = re.compile(r'"(?:path|filter)"\s*+:\s*+"')


def json_may_name_secret(text: str) -> bool:
    """Whether a JSON key, or the value of a ``path`` or ``filter``, in ``text`` contains a
    secret word (as ``is_secret_key`` reads keys: lower-cased). Only the places where a
    word occurs are looked at, each string once, so the work stays linear in the text;
    a regex that tried every quote (``"[^"]*word[^"]*"\\s*:``) was quadratic in a long
    string full of secret words."""
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


def is_secret_key(key: str) -> bool:
    """True when a JSON key or header name names a credential. The last segment of a
    schema-qualified name counts (``urn:...:core:2.0:User:password``)."""
    if len(key) > _CACHED_NAME_CHARS:
        return _is_secret_key(key)
    return _cached_is_secret_key(key)


def _is_secret_key(key: str) -> bool:
    name = _SEPARATORS.sub("", key.rsplit(":", 1)[-1].lower())
    return any(word in name for word in _SECRET_WORDS)


# JSON keys repeat from one request to the next.
_cached_is_secret_key = functools.lru_cache(maxsize=4096)(_is_secret_key)


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
            elif hide_value and isinstance(key, str) and key.lower() == "path":
                rv[key] = _hide_compared_values(item) if isinstance(item, str) else item
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
    ``password``, ``urn:...:User:password``. Entra capitalises the keys (``Path``), and
    an operation may carry several spellings at once (``path`` and ``Path``): which one
    a reader of the log would take for the path cannot be known, so any of them naming a
    secret hides every value."""
    for key, path in operation.items():
        if isinstance(key, str) and key.lower() == "path" and isinstance(path, str):
            attribute = path.split("[", 1)[0]
            if any(is_secret_key(part) for part in attribute.split(".") if part):
                return True
    return False


def _hide_compared_values(path: str) -> str:
    """A PATCH path of a secret attribute with the values its filter compares hidden:
    ``password[value eq "hunter2"]`` (whatever the sub-attribute is called)."""
    return _FILTER_COMPARISON.sub(lambda m: f'{m.group(1)}{m.group(2)}"{REDACTED}"', path)


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


def hide_tokens(text: str) -> str:
    """``text`` with every Willow API token cut to its display prefix + REDACTED."""
    if TOKEN_PREFIX not in text:
        return text
    return _TOKEN.sub(lambda m: f"{TOKEN_PREFIX}{m.group(1)}{REDACTED}", text)


def redact_text(text: str) -> str:
    """Hide secret values in text that could not be parsed as JSON: the value after any
    key naming a secret, in the syntaxes a client may send by mistake (see
    ``_KEY_SEPARATOR``), values compared to a secret in a filter, and API tokens."""
    if has_secret_word(text):
        text = redact_filter(_hide_values_of_secret_keys(text))
    return hide_tokens(text)


def _hide_values_of_secret_keys(text: str) -> str:
    pieces: list[str] = []
    copied = 0  # text[copied:] is still to be copied
    for start, end, hidden in _secret_values(text):
        pieces.append(text[copied:start])
        pieces.append(hidden)
        copied = end
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


def _secret_values(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, replacement)`` of each value of a secret key in ``text``, in order.
    One pass from left to right: each secret word found, the rest of its key read, its
    separator and value read; the next search starts after all that, so no character
    is read more than a few times."""
    at = 0
    while (word := _SECRET_HINT.search(text, at)) is not None:
        key_end = _KEY_REST.match(text, word.end()).end()
        at = key_end
        separator = _KEY_SEPARATOR.match(text, key_end)
        if separator is None:
            continue
        kind = separator.group(1) or ""  # "" for multipart
        start = separator.end()
        end, hidden = _value_end(text, start, kind)
        if end > start and text[start:end].strip():
            yield start, end, hidden
        at = max(end, at)


def _value_end(text: str, start: int, kind: str) -> tuple[int, str]:
    """Where the value starting at ``start`` ends, and what replaces it."""
    first = text[start : start + 1]
    if kind in (":", "=") and first in _QUOTED:
        return _QUOTED[first].match(text, start).end(), first + REDACTED + first
    if kind in (":", "=") and first in ("{", "["):
        return _bracketed_end(text, start), f'"{REDACTED}"'
    end = _UNQUOTED[kind].match(text, start).end()
    return end, f'"{REDACTED}"' if kind == ":" else REDACTED


def _bracketed_end(text: str, start: int) -> int:
    """The end of the object or array opening at ``start`` (strings skipped), or of the
    text when it is never closed."""
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(text, start):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
        elif bracket in ("]", "}"):
            depth -= 1
            if depth == 0:
                return token.end()
    return len(text)


def decode(raw: bytes) -> str:
    """Request or response bytes as text, decoded as ``json.loads`` decodes them: UTF-8,
    or UTF-16 or UTF-32 when a byte-order mark or the pattern of NUL bytes says so
    (RFC 8259 §8.1, ``json.detect_encoding``); a UTF-8 BOM is dropped. Willow accepts a
    body in any of them, so the redaction must see the keys the parser saw: decoded as
    UTF-8, ``p\\x00a\\x00s\\x00s…`` hides its password from every check. Invalid sequences
    become U+FFFD."""
    head = raw[:4]
    if head.isascii() and b"\x00" not in head:
        return raw.decode("utf-8", "replace")  # no BOM, no NUL: UTF-8 (most bodies)
    return raw.decode(json.detect_encoding(raw), "replace")


def redact_body(raw: bytes | str | None, max_bytes: int) -> str | None:
    """The body as it may be stored: redacted, then capped at ``max_bytes`` bytes of UTF-8
    with a visible marker. JSON keeps its original shape unless something was hidden;
    anything else is stored as text."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else decode(raw)
    if not text:
        return None
    return truncate(hide_tokens(_redacted(text)), max_bytes)


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
        and (
            not text.lstrip().startswith(("{", "["))
            or json_may_name_secret(text)
            # A key that check cannot see, unquoted or single-quoted ({'password': …},
            # {password: …}): then the text is no JSON, and the text patterns look at
            # it. (Or it is JSON with "token: …" inside a string: parsed, and kept.)
            or next(_secret_values(text), None) is not None
        )
    ):
        redacted = _redact_json_or_text(text)
        if redacted is text and len(text) <= _UNCHANGED_CHARS:
            if len(_UNCHANGED) >= _UNCHANGED_MAX:
                _UNCHANGED.clear()
            _UNCHANGED.add(text)
        return redacted
    return text


def _redact_json_or_text(text: str) -> str:
    if nesting_depth(text) > MAX_DEPTH:
        # Too deep to walk safely, and the text patterns cannot see a secret nested in
        # it: nothing of it is kept (the request itself was refused with a 400).
        return TOO_DEEP_NOTE
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact_text(text)
    redacted = redact_value(parsed)
    if redacted != parsed or _repeats_a_key(text):
        # A key given twice keeps its last value when parsed, and the text would keep
        # the first too ({"password": "hunter2", "password": null}): stored as parsed.
        return json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))
    if "\\u" in text:
        # An escape can spell an API token ("wsk\\u005f…"), which hide_tokens cannot
        # see in the text: then it is stored decoded.
        decoded = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
        if TOKEN_PREFIX in decoded:
            return decoded
    return text


def _repeats_a_key(text: str) -> bool:
    """Whether an object in the JSON ``text`` gives a key twice. A second parse, needed
    only for a text that would be stored as received (nothing in it was hidden)."""
    repeated = False

    def pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        rv = dict(pairs)
        repeated = repeated or len(rv) != len(pairs)
        return rv

    json.loads(text, object_pairs_hook=pairs_to_dict)
    return repeated


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


#: Response headers never stored: a session cookie is a credential.
DROPPED_RESPONSE_HEADERS = frozenset({"set-cookie"})


def redact_response_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Response headers to store, redacted as request headers are (``redact_headers``)
    and without Set-Cookie."""
    return redact_headers(
        (name, value) for name, value in headers if name.lower() not in DROPPED_RESPONSE_HEADERS
    )


def is_secret_header(name: str) -> bool:
    """True when a header's name says it carries a credential (see ``_HEADER_WORDS``)."""
    normalised = _SEPARATORS.sub("", name.lower())
    return any(word in normalised for word in _HEADER_WORDS)


def _header_rule(name: str) -> tuple[bool, bool]:
    """(dropped, secret) for a header name."""
    if len(name) > _CACHED_NAME_CHARS:
        return _judge_header(name)
    return _cached_header_rule(name)


def _judge_header(name: str) -> tuple[bool, bool]:
    return name.lower() in DROPPED_HEADERS, is_secret_header(name)


# Names repeat on every request from an IdP.
_cached_header_rule = functools.lru_cache(maxsize=512)(_judge_header)


def _add_header(rv: dict[str, str], name: str, value: str) -> None:
    dropped, secret = _header_rule(name)
    if not dropped:
        _put_header(rv, name, value, secret)


#: Short header values found to hold nothing to hide (User-Agent, Accept, Host...): they
#: repeat on every request, and a lookup is cheaper than the checks. Bounded (emptied
#: when full); a value with a secret in it is never kept.
_PLAIN_VALUES: set[str] = set()
_PLAIN_VALUES_MAX = 1024


def redact_header_value(value: str) -> str:
    """A header value whatever its name: credentials (``Bearer …``, ``Basic …``) hidden
    after their scheme, and API tokens anywhere in it."""
    if value in _PLAIN_VALUES:
        return value
    credentials = _CREDENTIALS.match(value)
    if credentials is not None:
        return f"{credentials.group(1)} {REDACTED}"
    rv = hide_tokens(value)
    if rv is value and len(value) <= _CACHED_NAME_CHARS:
        if len(_PLAIN_VALUES) >= _PLAIN_VALUES_MAX:
            _PLAIN_VALUES.clear()
        _PLAIN_VALUES.add(value)
    return rv


def _put_header(rv: dict[str, str], name: str, value: str, secret: bool) -> None:
    """Store a kept header, hidden when secret; a repeated one is joined with ", "."""
    value = REDACTED if secret else redact_header_value(value)
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
#: (emptied when full, long keys never kept).
_ENVIRON_RULES: dict[str, tuple[str, bool, bool, bool] | None] = {}
_ENVIRON_RULES_MAX = 1024


def _environ_rule(key: str) -> tuple[str, bool, bool, bool] | None:
    name = _environ_header(key) if key.isupper() else None
    rule = None if name is None else (name, *_header_rule(name), key.startswith("HTTP_"))
    if len(key) > _CACHED_NAME_CHARS:
        return rule
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
    """A query string with secret-looking parameters (``?access_token=...``), values
    compared to a secret in a filter, and API tokens hidden."""
    if not query or (TOKEN_PREFIX not in query and not has_secret_word(query)):
        return query
    return redact_text(query)
