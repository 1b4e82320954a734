"""Replay an IdP conversation, written down as data, against the app.

A scenario (``scenarios/<name>.json``) is a transcript: what the IdP sends, in order, and
what it needs back. Its keys:

``title``, ``source`` (where the conversation is documented), ``proves`` (one paragraph)
    Read by people; ``proves`` becomes the test's docstring.
``vars``
    Named values (``{"email": "test.user@okta.local"}``) used as ``{email}`` anywhere in a
    later step. ``{base}`` (the SCIM base URL) and ``{token}`` are always defined.
``headers``
    Headers the IdP sends on every request (a step may override one, or drop it with null).
``steps``
    A list of ``{"step": "what happens", "request": {method, path, headers, body},
    "expect": {status, headers, body}, "save": {name: path}}``.  ``note`` is free text;
    ``"repeat": N`` runs the step N times with ``{n}`` = 1..N (a save name may use it:
    ``"u{n}"``).

The query string in ``path`` is written readably (``filter=userName eq "x"``) and encoded
as a client would send it; ``%XX`` escapes and ``+`` (a space, form-style) are sent as
written, so a scenario can reproduce an IdP's exact encoding.

``expect.body`` is a pattern. An object matches an object that has those keys with matching
values (other keys are allowed); a list matches a list of the same length, element by
element; a scalar must be equal, of the same JSON type. An object whose keys all start with
``$`` is a matcher: ``$nonEmpty``, ``$empty`` (absent, null, "", [] or {}), ``$absent``,
``$type``, ``$length``, ``$contains``, ``$notContains``, ``$unordered``, ``$not``,
``$ieq`` (equal ignoring case). Save paths are ``$``, ``$.a.b``, ``$.list[0]``,
``$.list[0:100]`` or ``header:Name``.

Besides what each step expects, every response must satisfy what all three IdPs rely on
(``INVARIANTS``): a body is ``application/scim+json``; a 204 has no body; an error is a SCIM
Error with ``status`` as the string of the HTTP status and a ``detail``; ``active`` and
``primary`` are JSON booleans; no ``password`` and no stack trace is ever returned.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

SCENARIOS = Path(__file__).parent / "scenarios"
BASE_URL = "http://localhost/scim/v2"
SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
INVARIANTS = (
    "a response body is application/scim+json",
    "a 204 response has no body",
    "an error is a SCIM Error with status as a string and a detail",
    "active and primary are JSON booleans",
    "no password and no stack trace in any response",
)

_SCENARIO_KEYS = {"title", "source", "proves", "vars", "headers", "steps"}
_STEP_KEYS = {"step", "note", "request", "expect", "save", "repeat"}
_REQUEST_KEYS = {"method", "path", "headers", "body"}
_EXPECT_KEYS = {"status", "headers", "body"}
_MATCHERS = {
    "$nonEmpty",
    "$empty",
    "$absent",
    "$type",
    "$length",
    "$contains",
    "$notContains",
    "$unordered",
    "$not",
    "$ieq",
}
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(\d*):(\d*)\]")
_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


class ScenarioError(Exception):
    """The scenario file itself is wrong (unknown key, undefined variable, bad path)."""


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.json"))


def load(name: str) -> dict:
    scenario = json.loads((SCENARIOS / f"{name}.json").read_text(encoding="utf-8"))
    _check_keys(scenario, _SCENARIO_KEYS, name)
    for index, step in enumerate(scenario["steps"], 1):
        where = f"{name} step {index}"
        _check_keys(step, _STEP_KEYS, where)
        _check_keys(step["request"], _REQUEST_KEYS, where + " request")
        _check_keys(step["expect"], _EXPECT_KEYS, where + " expect")
        if "status" not in step["expect"]:
            raise ScenarioError(f"{where}: every step states the status it expects")
    return scenario


def replay(name: str, client, token: str) -> None:
    """Run every step of scenario ``name``; fail with the step's name on the first mismatch."""
    __tracebackhide__ = True
    scenario = load(name)
    variables: dict[str, Any] = {"base": BASE_URL, "token": token}
    variables.update(scenario.get("vars", {}))
    for index, step in enumerate(scenario["steps"], 1):
        for n in range(1, step.get("repeat", 1) + 1):
            if "repeat" in step:
                variables["n"] = n
            _run_step(client, scenario, index, step, variables)


def _run_step(client, scenario: dict, index: int, step: dict, variables: dict) -> None:
    __tracebackhide__ = True
    request = substitute(step["request"], variables)
    expect = substitute(step["expect"], variables)
    headers = {**substitute(scenario.get("headers", {}), variables), **request.get("headers", {})}
    headers = {k: v for k, v in headers.items() if v is not None}
    method = request["method"].upper()
    path = encode_path(request["path"])
    kwargs: dict[str, Any] = {"method": method, "headers": headers}
    if "body" in request:
        kwargs["data"] = json.dumps(request["body"])
    response = client.open("/scim/v2" + path, **kwargs)

    text = response.get_data(as_text=True)
    body: Any = None
    errors: list[str] = []
    if text:
        try:
            body = json.loads(text)
        except ValueError:
            errors.append("the response body is not JSON")
    if response.status_code != expect["status"]:
        errors.append(f"status: expected {expect['status']}, got {response.status_code}")
    errors += invariant_violations(response.status_code, response.mimetype, text, body)
    for name, pattern in expect.get("headers", {}).items():
        errors += match(pattern, response.headers.get(name), f"header {name}")
    if "body" in expect:
        errors += match(expect["body"], body, "$")
    if errors:
        raise AssertionError(
            f"{scenario['title']}: step {index} ({step['step']})\n"
            f"{method} {path}\n  - "
            + "\n  - ".join(errors)
            + (f"\nrequest body: {json.dumps(request['body'])}" if "body" in request else "")
            + f"\nresponse {response.status_code}: {text[:2000]}"
        )
    for name, where in step.get("save", {}).items():
        variables[substitute(name, variables)] = extract(where, body, response.headers)


def invariant_violations(status: int, mimetype: str, text: str, body: Any) -> list[str]:
    """What every IdP relies on, checked on every response (see ``INVARIANTS``)."""
    errors = []
    if status == 204 and text:
        errors.append("a 204 response has a body")
    if text and mimetype != SCIM_MEDIA_TYPE:
        errors.append(f"Content-Type is {mimetype!r}, not {SCIM_MEDIA_TYPE}")
    if "Traceback (most recent call last)" in text:
        errors.append("the response contains a stack trace")
    if status >= 400:
        if not isinstance(body, dict) or body.get("schemas") != [ERROR_SCHEMA]:
            errors.append("an error response is not a SCIM Error")
        else:
            if body.get("status") != str(status):
                errors.append(f"Error status is {body.get('status')!r}, not {str(status)!r}")
            if not isinstance(body.get("detail"), str) or not body["detail"]:
                errors.append("Error has no detail")
    for where, key, value in _walk(body, "$"):
        if key.lower() == "password":
            errors.append(f"{where} returns a password")
        if key in ("active", "primary") and not isinstance(value, bool):
            errors.append(f"{where} is {value!r}, not a JSON boolean")
    return errors


def _walk(value: Any, where: str):
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.{key}", key, item
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}[{i}]")


_MISSING = object()


def match(pattern: Any, actual: Any, where: str) -> list[str]:
    """Differences between a pattern and an actual JSON value, each naming its location."""
    if isinstance(pattern, dict) and pattern and all(k.startswith("$") for k in pattern):
        return _match_matchers(pattern, actual, where)
    if actual is _MISSING:
        return [f"{where} is missing"]
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        errors = []
        for key, sub in pattern.items():
            errors += match(sub, actual.get(key, _MISSING), f"{where}.{key}")
        return errors
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        if len(pattern) != len(actual):
            return [f"{where}: expected {len(pattern)} items, got {len(actual)}: {actual!r}"]
        errors = []
        for i, (sub, item) in enumerate(zip(pattern, actual, strict=True)):
            errors += match(sub, item, f"{where}[{i}]")
        return errors
    if type(pattern) is not type(actual) and not (
        isinstance(pattern, int | float)
        and isinstance(actual, int | float)
        and not isinstance(pattern, bool)
        and not isinstance(actual, bool)
    ):
        return [f"{where}: expected {pattern!r}, got {actual!r}"]
    if pattern != actual:
        return [f"{where}: expected {pattern!r}, got {actual!r}"]
    return []


def _match_matchers(pattern: dict, actual: Any, where: str) -> list[str]:
    unknown = set(pattern) - _MATCHERS
    if unknown:
        raise ScenarioError(f"{where}: unknown matcher(s) {sorted(unknown)}")
    errors: list[str] = []
    missing = actual is _MISSING
    value = None if missing else actual
    if "$absent" in pattern:
        if pattern["$absent"] and not missing:
            errors.append(f"{where} should be absent, got {actual!r}")
    if "$empty" in pattern:
        if pattern["$empty"] and value not in (None, "", [], {}):
            errors.append(f"{where} should be empty or absent, got {actual!r}")
    if "$nonEmpty" in pattern:
        if pattern["$nonEmpty"] and value in (None, "", [], {}):
            errors.append(f"{where} should not be empty, got {'nothing' if missing else value!r}")
    if "$type" in pattern:
        expected_type = _JSON_TYPES[pattern["$type"]]
        if missing or isinstance(value, bool) != (pattern["$type"] == "boolean"):
            errors.append(f"{where} should be a JSON {pattern['$type']}, got {value!r}")
        elif not isinstance(value, expected_type):
            errors.append(f"{where} should be a JSON {pattern['$type']}, got {value!r}")
    if "$length" in pattern:
        if not isinstance(value, list | str) or len(value) != pattern["$length"]:
            errors.append(f"{where} should have length {pattern['$length']}, got {value!r}")
    if "$ieq" in pattern:
        if not isinstance(value, str) or value.lower() != pattern["$ieq"].lower():
            errors.append(f"{where} should equal {pattern['$ieq']!r} ignoring case, got {value!r}")
    if "$not" in pattern:
        if not match(pattern["$not"], actual, where):
            errors.append(f"{where} should not match {pattern['$not']!r}, got {value!r}")
    if "$contains" in pattern:
        if not isinstance(value, list) or not any(
            not match(pattern["$contains"], item, where) for item in value
        ):
            errors.append(f"{where} should contain {pattern['$contains']!r}, got {value!r}")
    if "$notContains" in pattern:
        if isinstance(value, list) and any(
            not match(pattern["$notContains"], item, where) for item in value
        ):
            errors.append(f"{where} should not contain {pattern['$notContains']!r}")
    if "$unordered" in pattern:
        errors += _match_unordered(pattern["$unordered"], value, where)
    return errors


def _match_unordered(patterns: list, actual: Any, where: str) -> list[str]:
    """Same length, and each pattern matched by a different element, in any order."""
    if not isinstance(actual, list) or len(actual) != len(patterns):
        return [f"{where} should hold exactly {len(patterns)} items, got {actual!r}"]
    unused = list(actual)
    for sub in patterns:
        for i, item in enumerate(unused):
            if not match(sub, item, where):
                del unused[i]
                break
        else:
            return [f"{where} has no item matching {sub!r}: {actual!r}"]
    return []


def substitute(value: Any, variables: dict) -> Any:
    """Replace ``{name}`` in every string; a string that is only ``{name}`` takes the
    variable's value whatever its type (so a saved object can be sent back whole)."""
    if isinstance(value, str):
        whole = _VARIABLE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), variables)
        return _VARIABLE.sub(lambda m: str(_lookup(m.group(1), variables)), value)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


def _lookup(name: str, variables: dict) -> Any:
    if name not in variables:
        raise ScenarioError(f"{{{name}}} is used before it is defined or saved")
    return variables[name]


def extract(where: str, body: Any, headers) -> Any:
    """The value at a save path: ``$.Resources[0].id``, ``$.Resources[0:100]``, ``header:ETag``."""
    if where.startswith("header:"):
        return headers.get(where[len("header:") :])
    if not where.startswith("$"):
        raise ScenarioError(f"save path {where!r} must start with '$' or 'header:'")
    value = body
    rest = where[1:]
    while rest:
        part = _PATH_PART.match(rest)
        if part is None:
            raise ScenarioError(f"cannot read save path {where!r} at {rest!r}")
        key, index, start, stop = part.groups()
        try:
            if key is not None:
                value = value[key]
            elif index is not None:
                value = value[int(index)]
            else:
                value = value[int(start or 0) : int(stop) if stop else None]
        except (KeyError, IndexError, TypeError):
            raise AssertionError(f"the response has nothing at {where!r}: {body!r}") from None
        rest = rest[part.end() :]
    return value


def encode_path(path: str) -> str:
    """Percent-encode what a client would in the query (spaces, quotes, brackets), keeping
    ``%XX`` escapes and ``+`` exactly as the scenario wrote them."""
    route, sep, query = path.partition("?")
    return route + sep + quote(query, safe="=&%+:@,;/?!$'()*")


def _check_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = set(mapping) - allowed
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}")
