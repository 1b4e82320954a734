"""Bad input corpus: every malformed, hostile or misdirected request gets a SCIM Error with
the right 4xx, and leaves the database as it was.

Each test sends one family of inputs and reports every wrong answer at once (status,
content type, Error body, scimType), then checks that no provisioned row changed.
"""

from __future__ import annotations

import json
import uuid

import pytest

from willow.scim.protocol.messages import MAX_PATCH_OPERATIONS
from willow.scim.protocol.schema import ENTERPRISE_USER
from willow.scim.protocol.schema import USER
from willow.server.json_limits import MAX_DEPTH

from .conftest import COUNTS
from .conftest import PATCH_OP
from .conftest import SEARCH_REQUEST
from .conftest import error_problems
from .conftest import log_rows
from .conftest import patch_ops
from .conftest import snapshot
from .conftest import user_body

#: Routes that read a JSON body, as (method, path template).
BODY_ROUTES = [
    ("POST", "/Users"),
    ("PUT", "/Users/{uid}"),
    ("PATCH", "/Users/{uid}"),
    ("POST", "/Groups"),
    ("PUT", "/Groups/{gid}"),
    ("PATCH", "/Groups/{gid}"),
    ("POST", "/.search"),
    ("POST", "/Users/.search"),
    ("POST", "/Groups/.search"),
]

MALFORMED_JSON = [
    "",
    "   \r\n\t",
    "{",
    "}",
    "[",
    '{"userName":',
    '{"userName":"x"',
    '{"userName":"x",}',
    '{"userName":"x"}}',
    '{"userName" "x"}',
    "{'userName':'x'}",
    '{userName:"x"}',
    "nul",
    "tru",
    "[1, 2",
    '{"userName":"x"} trailing',
    '{"userName":"x"}{"userName":"y"}',
    '{"userName":"a\x00b"}',  # raw control character inside a string
    '{"userName":"a\nb"}',
    '{"userName":"\\x41"}',  # not a JSON escape
    '{"userName":"\\u12"}',
    "<userName>x</userName>",
    "userName=x",
    "\x00",
]
NOT_AN_OBJECT = ["[]", "[{}]", '[{"userName":"x"}]', "1", "-1.5e3", '"text"', "null", "true"]


def deep(levels: int, kind: str = "array", leaf: str = "1") -> str:
    if kind == "array":
        return "[" * levels + leaf + "]" * levels
    return '{"a":' * levels + leaf + "}" * levels


def _bodies_too_deep() -> list[str]:
    over = MAX_DEPTH + 1
    return [
        deep(10_000),
        deep(5_000, "object"),
        deep(over),
        deep(over, "object"),
        "[" * 100_000,  # deep and truncated
        '{"a":[' * 3000,
        # deep inside otherwise plausible documents
        json.dumps(user_body("deep@example.com"))[:-1] + ',"title":' + deep(4000) + "}",
        '{"schemas":["'
        + PATCH_OP
        + '"],"Operations":[{"op":"add","path":"title","value":'
        + deep(4000, "object", '"x"')
        + "}]}",
        '{"schemas":["' + SEARCH_REQUEST + '"],"filter":' + deep(4000) + "}",
    ]


def _send(tenant, method: str, path: str, body, headers: dict | None = None):
    scim = tenant.scim
    path = path.format(uid=tenant.user_ids[0], gid=tenant.group_id)
    if method in ("GET", "DELETE", "HEAD", "OPTIONS"):
        return scim.client.open(
            scim.base + path, method=method, headers=scim.headers(headers), data=body
        )
    return scim._send(method, path, body, headers=headers)


class Corpus:
    """Sends cases, collects wrong answers, counts what was tried."""

    def __init__(self, app):
        self.app = app
        self.before = snapshot(app)
        self.logged_before = log_rows(app)
        self.sent = 0
        self.failures: list[str] = []

    def expect(self, label: str, rv, status, scim_type: str | tuple | None = None) -> None:
        COUNTS["bad-input requests"] += 1
        self.sent += 1
        problems = error_problems(rv, status, scim_type)
        if problems:
            self.failures.append(f"{label}: " + "; ".join(problems))

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} bad answers:\n" + "\n".join(
            self.failures[:60]
        )
        assert snapshot(self.app) == self.before, "a refused request changed the database"
        # a refused request is still logged: nothing in it may stop its row being written
        assert log_rows(self.app) - self.logged_before == self.sent


@pytest.fixture
def corpus(app, tenants):
    rv = Corpus(app)
    yield rv
    rv.check()


def test_malformed_and_non_object_json_is_400_invalid_syntax_on_every_body_route(tenants, corpus):
    a, _ = tenants
    for method, path in BODY_ROUTES:
        for body in MALFORMED_JSON + NOT_AN_OBJECT:
            rv = _send(a, method, path, body)
            corpus.expect(f"{method} {path} {body[:30]!r}", rv, 400, "invalidSyntax")


def test_json_nested_deeper_than_the_limit_is_400_before_it_is_parsed(app, tenants, corpus):
    a, _ = tenants
    for method, path in BODY_ROUTES:
        for body in _bodies_too_deep():
            rv = _send(a, method, path, body)
            corpus.expect(f"{method} {path} {body[:30]!r}…", rv, 400, "invalidSyntax")
            if rv.status_code == 400:
                assert "deeper than" in rv.get_json()["detail"] or body.count("[") > 3000


def test_nesting_at_the_limit_is_read_and_refused_for_its_content_not_its_depth(tenants, corpus):
    a, _ = tenants
    at_limit = json.dumps(user_body("edge@example.com"))[:-1]
    at_limit += ',"title":' + deep(MAX_DEPTH - 1, leaf='"x"') + "}"
    rv = _send(a, "POST", "/Users", at_limit)
    corpus.expect("title nested at the limit", rv, 400, "invalidValue")
    assert "deeper than" not in rv.get_json()["detail"]


def test_invalid_utf8_nul_and_unpaired_surrogates_are_400(tenants, corpus):
    a, _ = tenants
    raw_cases = [
        (b'{"userName":"\xff\xfe"}', "invalidSyntax"),
        (b'{"userName":"\xc3\x28"}', "invalidSyntax"),
        (b'{"userName":"\xc0\xaf"}', "invalidSyntax"),  # overlong "/"
        # a surrogate encoded as UTF-8 bytes: Python's decoder lets it through, and
        # the storable-text check refuses it
        (b'{"userName":"\xed\xa0\x80"}', ("invalidSyntax", "invalidValue")),
        (b'{"userName":"\xf4\x90\x80\x80"}', "invalidSyntax"),  # beyond U+10FFFF
        (b'{"userName":"ok@example.com","title":"\x80"}', "invalidSyntax"),
        (b'{"userName":"a\\u0000b"}', "invalidValue"),
        (b'{"userName":"\\ud800@example.com"}', "invalidValue"),
        (b'{"userName":"x@example.com","title":"\\udfff"}', "invalidValue"),
        (b'{"userName":"x@example.com","\\u0000":"v"}', "invalidValue"),
    ]
    for method, path in BODY_ROUTES:
        for body, scim_type in raw_cases:
            if "search" in path:
                body = body.replace(b'"userName"', b'"filter"')
            rv = _send(a, method, path, body)
            corpus.expect(f"{method} {path} {body[:40]!r}", rv, 400, scim_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/html",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "application/jsonx",
        "image/png",
    ],
)
def test_a_body_that_is_not_json_by_content_type_is_415(tenants, corpus, content_type):
    a, _ = tenants
    for method, path in BODY_ROUTES:
        body = json.dumps(user_body("typed@example.com"))
        rv = _send(a, method, path, body, headers={"Content-Type": content_type})
        corpus.expect(f"{method} {path} as {content_type}", rv, 415)


def test_a_body_over_the_size_limit_is_413(app, tenants, corpus):
    a, _ = tenants
    limit = app.config["MAX_CONTENT_LENGTH"]
    for method, path in BODY_ROUTES:
        body = json.dumps(user_body("big@example.com", title="x" * limit))
        corpus.expect(f"{method} {path} over the limit", _send(a, method, path, body), 413)


def _wrong_values(attr) -> list:
    """Values of the wrong JSON type for ``attr`` (the lenient forms IdPs send, such as
    ``"True"`` for a boolean or one object for a list, are not among them)."""
    scalar_wrong = [42, 4.5, {"value": "x"}, ["x"]]
    if attr.type == "boolean":
        return [42, "maybe", ["true"], {"value": True}]
    if attr.type != "complex":
        return scalar_wrong if attr.type in ("string", "reference", "binary") else [42, "x"]
    if attr.multi_valued:
        sub = attr.sub_attributes[0]
        rv = [42, True, [42], [["x"]], [{sub.name: 42}], [{sub.name: ["x"]}]]
        if attr.sub("primary"):
            rv.append([{sub.name: "a", "primary": True}, {sub.name: "b", "primary": True}])
            rv.append([{sub.name: "a", "primary": "maybe"}])
        return rv
    sub = attr.sub_attributes[0]
    return [42, True, ["x"], {sub.name: 42}, {sub.name: {"x": 1}}]


def _writable(schema):
    """Attributes a client writes. ``password`` is left out: whatever is sent there is
    discarded unread (docs/scim.md), so no type of it is wrong."""
    return [a for a in schema.attributes if a.mutability != "readOnly" and a.name != "password"]


def test_a_wrong_type_for_any_user_attribute_is_400(tenants, corpus):
    a, _ = tenants
    for schema in (USER, ENTERPRISE_USER):
        for attr in _writable(schema):
            for value in _wrong_values(attr):
                if attr.name == "userName":
                    body = {**user_body("x@example.com"), "userName": value}
                elif schema is USER:
                    body = {**user_body("typed@example.com"), attr.name: value}
                else:
                    body = user_body("typed@example.com")
                    body[schema.id] = {attr.name: value}
                label = f"{attr.name}={json.dumps(value)[:40]}"
                for method, path in (("POST", "/Users"), ("PUT", "/Users/{uid}")):
                    rv = _send(a, method, path, body)
                    corpus.expect(f"{method} {label}", rv, 400, "invalidValue")
                ops = patch_ops({"op": "replace", "path": attr.name, "value": value})
                if schema is not USER:
                    ops["Operations"][0]["path"] = f"{schema.id}:{attr.name}"
                corpus.expect(f"PATCH {label}", _send(a, "PATCH", "/Users/{uid}", ops), 400)


def test_a_wrong_type_for_any_group_attribute_or_member_is_400(tenants, corpus):
    a, _ = tenants
    cases = [
        {"displayName": 42},
        {"displayName": ["x"]},
        {"displayName": {"value": "x"}},
        {"displayName": True},
        {"displayName": ""},
        {"displayName": None},
        {},
        {"displayName": "g", "members": "x"},
        {"displayName": "g", "members": 42},
        {"displayName": "g", "members": [42]},
        {"displayName": "g", "members": [{"value": 42}]},
        {"displayName": "g", "members": [{"display": "no value"}]},
        {"displayName": "g", "members": [["x"]]},
        {"displayName": "g", "externalId": 42},
        {"displayName": "g", "externalId": ["x"]},
        {"displayName": "x" * 300},
    ]
    for body in cases:
        for method, path in (("POST", "/Groups"), ("PUT", "/Groups/{gid}")):
            rv = _send(a, method, path, body)
            corpus.expect(f"{method} {json.dumps(body)[:50]}", rv, 400)
    for op in (
        {"op": "replace", "path": "displayName", "value": 42},
        {"op": "replace", "value": {"displayName": ["x"]}},
        {"op": "add", "path": "members", "value": "x"},
        {"op": "add", "path": "members", "value": [{"display": "no value"}]},
        {"op": "add", "path": "members", "value": [{"value": 42}]},
        {"op": "remove", "path": "displayName"},
    ):
        rv = _send(a, "PATCH", "/Groups/{gid}", patch_ops(op))
        corpus.expect(f"PATCH group {json.dumps(op)[:60]}", rv, 400)


def test_huge_strings_and_arrays_are_400_not_a_database_error(tenants, corpus):
    a, _ = tenants
    huge = "x" * 900_000
    many_primaries = [{"value": f"{i}@example.com", "primary": True} for i in range(20_000)]
    cases = [
        ("POST", "/Users", {**user_body("h@example.com"), "userName": huge}),
        ("POST", "/Users", user_body("h@example.com", title=huge)),
        ("POST", "/Users", user_body("h@example.com", name={"givenName": huge})),
        ("POST", "/Users", user_body("h@example.com", emails=many_primaries)),
        ("PUT", "/Users/{uid}", user_body("h@example.com", nickName=huge)),
        ("POST", "/Groups", {"displayName": huge}),
        ("POST", "/Groups", {"displayName": "g", "externalId": huge}),
        ("PATCH", "/Users/{uid}", patch_ops({"op": "replace", "path": "title", "value": huge})),
        (
            "PATCH",
            "/Users/{uid}",
            # many valid operations (as many as accepted), then one that fails: none of them
            # is applied
            patch_ops(
                *[
                    {"op": "replace", "path": "title", "value": f"t{i}"}
                    for i in range(MAX_PATCH_OPERATIONS - 1)
                ],
                {"op": "replace", "path": "userName", "value": 42},
            ),
        ),
        ("POST", "/.search", {"filter": "userName eq " + json.dumps(huge)}),
        ("POST", "/Users/.search", {"filter": " or ".join(['userName eq "x"'] * 20_000)}),
    ]
    for method, path, body in cases:
        rv = _send(a, method, path, body)
        corpus.expect(f"{method} {path} {json.dumps(body)[:50]}…", rv, 400)


INVALID_FILTERS = [
    'userName eq "x" or 1=1',
    "userName eq 'x' or '1'='1'",
    'userName eq "x"; DROP TABLE users; --',
    'userName eq "x" -- comment',
    "userName eq",
    'eq "x"',
    '"x" eq userName',
    '(userName eq "x"',
    'userName eq "x")',
    'userName xx "x"',
    'userName like "x%"',
    'userName eq "x" and',
    'and userName eq "x"',
    'not userName eq "x"',
    'userName eq "unterminated',
    'userName eq "bad \\q escape"',
    'emails[type eq "work"',
    "emails[]",
    'emails[type eq "work"]]',
    'emails[value[type eq "x"]]',
    'emails[type eq "work"].',
    'unknownAttribute eq "x"',
    'urn:bogus:schema:userName eq "x"',
    'password eq "secret"',
    'userName.sub eq "x"',
    'name eq "x"',
    'meta.location eq "x"',
    "userName gt true",
    "active gt 1",
    'active eq "maybe"',
    'meta.created gt "not a date"',
    'meta.lastModified lt "99999-99-99"',
    "meta.created gt 12",
    'userName pr "x"',
    "userName co null",
    "userName eq 1e999",
    'userName eq "a\\u0000b"',
    "(" * 60 + 'userName eq "x"' + ")" * 60,
    "not(" * 60 + 'userName eq "x"' + ")" * 60,
    'userName eq "' + "x" * 9000 + '"',
    "userName eq \x00",
    "🙂 eq 1",
    "",
    "   ",
]


def test_invalid_filters_are_400_invalid_filter_everywhere(tenants, corpus):
    a, _ = tenants
    for text in INVALID_FILTERS:
        label = repr(text[:40])
        if text.strip():
            # a blank filter means "no filter" on the query string; in a body it is
            # read the same way, so only non-blank ones are errors
            for collection in ("/Users", "/Groups"):
                rv = a.scim.get(collection, query_string={"filter": text})
                corpus.expect(f"GET {collection} {label}", rv, 400, "invalidFilter")
            for path in ("/.search", "/Users/.search", "/Groups/.search"):
                rv = _send(a, "POST", path, {"schemas": [SEARCH_REQUEST], "filter": text})
                # a NUL is refused with the whole body, before the filter is read
                scim_type = "invalidValue" if "\x00" in text else "invalidFilter"
                corpus.expect(f"POST {path} {label}", rv, 400, scim_type)


def test_injection_shaped_string_values_match_nothing_rather_than_everything(tenants):
    a, _ = tenants
    for text in (
        'userName eq "x\\" or \\"1\\"=\\"1"',
        "userName eq \"x' OR '1'='1\"",
        'userName co "%"',
        'userName co "_"',
        'userName sw "\\\\"',
        'displayName eq "x\\"); DROP TABLE users; --"',
    ):
        rv = a.scim.get("/Users", query_string={"filter": text})
        assert rv.status_code == 200, text
        assert rv.get_json()["totalResults"] == 0, text


def test_invalid_patch_operations_and_paths_are_400(tenants, corpus):
    a, _ = tenants
    bad_bodies = [
        ({"schemas": [PATCH_OP]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": "add"}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [42]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [None]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [[]]}, "invalidSyntax"),
        ({"schemas": 42, "Operations": [{"op": "remove", "path": "title"}]}, "invalidSyntax"),
        (patch_ops({"path": "title", "value": "x"}), "invalidSyntax"),
        (patch_ops({"op": "copy", "path": "title", "value": "x"}), "invalidSyntax"),
        (patch_ops({"op": "", "path": "title", "value": "x"}), "invalidSyntax"),
        (patch_ops({"op": 42, "path": "title", "value": "x"}), "invalidSyntax"),
        (patch_ops({"op": ["add"], "path": "title", "value": "x"}), "invalidSyntax"),
        (patch_ops({"op": "add", "path": 42, "value": "x"}), "invalidSyntax"),
        (patch_ops({"op": "add", "path": ["title"], "value": "x"}), "invalidSyntax"),
        (patch_ops({"op": "add", "path": "title"}), "invalidValue"),
        (patch_ops({"op": "replace", "path": "title"}), "invalidValue"),
        (patch_ops({"op": "add", "op ": "x", "OP": "add", "value": 1}), "invalidSyntax"),
    ]
    bad_paths = [
        "unknownAttribute",
        "title.sub",
        "name.unknown",
        "name.givenName.deeper",
        'emails[type eq "work"',
        'emails[type eq "work"].unknown',
        'emails[value[type eq "x"]]',
        "emails[]",
        "emails[type xx 1]",
        'title[value eq "x"]',
        "(title)",
        "title eq",
        "x" * 9000,
        "title\x00",
        "\ud800",
        "..",
        "[",
    ]
    for route in ("/Users/{uid}", "/Groups/{gid}"):
        for body, scim_type in bad_bodies:
            rv = _send(a, "PATCH", route, body)
            corpus.expect(f"PATCH {route} {json.dumps(body)[:60]}", rv, 400, scim_type)
        for path in bad_paths:
            for op in ("add", "replace", "remove"):
                body = patch_ops({"op": op, "path": path, "value": "x"})
                rv = _send(a, "PATCH", route, body)
                corpus.expect(f"PATCH {route} {op} {path[:30]!r}", rv, 400)
    mutability = [
        {"op": "remove", "path": "userName"},
        {"op": "replace", "path": "id", "value": str(uuid.uuid4())},
        {"op": "remove", "path": "active"},
        {"op": "replace", "path": "active", "value": None},
    ]
    for op in mutability:
        rv = _send(a, "PATCH", "/Users/{uid}", patch_ops(op))
        corpus.expect(f"PATCH user {json.dumps(op)}", rv, 400)


BAD_QUERY_PARAMETERS = [
    ({"startIndex": "abc"}, "invalidValue"),
    ({"startIndex": "1.5"}, "invalidValue"),
    ({"startIndex": "0x10"}, "invalidValue"),
    ({"count": "abc"}, "invalidValue"),
    ({"count": "1e3"}, "invalidValue"),
    ({"count": ""}, None),  # blank: the default, not an error (skipped below)
    ({"sortBy": "unknownAttribute"}, "invalidValue"),
    ({"sortBy": "password"}, "invalidValue"),
    ({"sortBy": 'emails[type eq "work"]'}, "invalidValue"),
    ({"sortBy": "meta.location"}, "invalidValue"),
    ({"sortBy": "name.unknown"}, "invalidValue"),
    ({"sortBy": "::"}, "invalidValue"),
    ({"sortOrder": "sideways"}, "invalidValue"),
    ({"sortOrder": "ascending; DROP TABLE users"}, "invalidValue"),
]
BAD_SEARCH_FIELDS = [
    {"startIndex": "abc"},
    {"startIndex": True},
    {"startIndex": 1.5},
    {"startIndex": [1]},
    {"startIndex": 1e400},
    {"count": "abc"},
    {"count": False},
    {"count": 2.5},
    {"count": {"n": 1}},
    {"count": -1e400},
    {"sortBy": 42},
    {"sortBy": ["userName"]},
    {"sortBy": "unknownAttribute"},
    {"sortOrder": 42},
    {"sortOrder": "sideways"},
    {"filter": 42},
    {"filter": ["userName pr"]},
    {"filter": {"userName": "x"}},
    {"attributes": 42},
    {"attributes": [42]},
    {"attributes": {"userName": 1}},
    {"excludedAttributes": True},
    {"excludedAttributes": [["x"]]},
    {"schemas": 42},
    {"schemas": [42]},
]


def test_bad_paging_sorting_and_attribute_parameters_are_400(tenants, corpus):
    a, _ = tenants
    for params, scim_type in BAD_QUERY_PARAMETERS:
        if scim_type is None:
            continue
        for collection in ("/Users", "/Groups"):
            rv = a.scim.get(collection, query_string=params)
            corpus.expect(f"GET {collection} {params}", rv, 400, scim_type)
    for fields in BAD_SEARCH_FIELDS:
        for path in ("/.search", "/Users/.search", "/Groups/.search"):
            rv = _send(a, "POST", path, {"schemas": [SEARCH_REQUEST], **fields})
            corpus.expect(f"POST {path} {json.dumps(fields)[:60]}", rv, 400)


def _resource_routes(tenant, user_id: str, group_id: str):
    body_user = user_body("someone@example.com")
    body_group = {"displayName": "someone"}
    ops = patch_ops({"op": "replace", "path": "displayName", "value": "x"})
    for collection, rid, body in (("Users", user_id, body_user), ("Groups", group_id, body_group)):
        path = f"/{collection}/{rid}"
        yield "GET", path, None
        yield "PUT", path, body
        yield "PATCH", path, ops
        yield "DELETE", path, None


UNKNOWN_IDS = [
    str(uuid.uuid4()),
    "unknown",
    "0",
    "-1",
    "x" * 300,
    "%00",
    "a%00b",
    "%ED%A0%80",  # an encoded lone surrogate
    "%FF",
    "..%2F..%2Fetc%2Fpasswd",
    "' OR '1'='1",
    "1%20OR%201=1",
    "🙂",
]


def test_unknown_ids_are_404_on_every_verb(tenants, corpus):
    a, _ = tenants
    for rid in UNKNOWN_IDS:
        for method, path, body in _resource_routes(a, rid, rid):
            rv = _send(a, method, path, json.dumps(body) if body is not None else None)
            corpus.expect(f"{method} {path[:50]}", rv, 404)
    for path in ("/ResourceTypes/Nope", "/Schemas/urn:nope", "/Schemas/%00"):
        corpus.expect(f"GET {path}", a.scim.get(path), 404)


def test_ids_of_another_organization_are_404_on_every_verb(tenants, corpus):
    a, b = tenants
    for user_id in b.user_ids:
        for method, path, body in _resource_routes(a, user_id, b.group_id):
            rv = _send(a, method, path, json.dumps(body) if body is not None else None)
            corpus.expect(f"A's token: {method} {path}", rv, 404)
            rv = _send(
                a,
                method,
                path,
                json.dumps(body) if body is not None else None,
                headers={"If-Match": 'W/"1"'},
            )
            corpus.expect(f"A's token with If-Match: {method} {path}", rv, 404)


def _scim_rules(app):
    """Every URL rule under /scim/v2 with the methods it answers (HEAD and OPTIONS,
    which Flask adds to every rule, left out)."""
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/scim/v2"):
            methods.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return sorted(methods.items())


def test_every_verb_a_route_does_not_serve_is_405_with_allow(app, tenants, corpus):
    a, _ = tenants
    verbs = {"GET", "POST", "PUT", "PATCH", "DELETE"}
    checked = 0
    for rule, methods in _scim_rules(app):
        path = (
            rule.replace("<user_id>", a.user_ids[0])
            .replace("<group_id>", a.group_id)
            .replace("<name>", "User")
            .replace("<urn>", USER.id)
        )
        # /Users/.search and /Groups/.search share their shape with /Users/<id>: other
        # verbs on them reach the resource routes, which answer for an id ".search"
        overlaps = rule.endswith("/.search") and rule != "/scim/v2/.search"
        for verb in sorted(verbs - methods):
            if overlaps:
                continue
            rv = a.scim.client.open(
                path,
                method=verb,
                headers=a.scim.headers({"Content-Type": "application/scim+json"}),
                data="{}",
            )
            corpus.expect(f"{verb} {rule}", rv, 405)
            allowed = {m.strip() for m in rv.headers.get("Allow", "").split(",")}
            if not methods <= allowed:
                corpus.failures.append(f"{verb} {rule}: Allow {rv.headers.get('Allow')!r}")
            checked += 1
    assert checked >= 30


def test_unknown_and_unsupported_endpoints_are_404(tenants, corpus):
    a, _ = tenants
    for path in ("/Me", "/Nope", "/Users/x/y", "/users", "/Groups/.search/x", "/%00"):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            rv = _send(a, method, path, "{}")
            corpus.expect(f"{method} {path}", rv, (404, 405))


def test_missing_or_wrong_credentials_are_401_everywhere(app, tenants, corpus):
    a, _ = tenants
    # hundreds of failures from one address: the failed-authentication limit (429, tested
    # with the rate limits) would answer most of them
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 0
    for header in (
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer wsk_not-a-token",
        "Bearer " + a.scim.token + "x",
        "Bearer " + a.scim.token[:-1],
        "Token " + a.scim.token,
        "Bearer \x00",
    ):
        for rule, methods in _scim_rules(app):
            path = rule.replace("<user_id>", a.user_ids[0]).replace("<group_id>", a.group_id)
            path = path.replace("<name>", "User").replace("<urn>", USER.id)
            for method in methods:
                headers = {"Content-Type": "application/scim+json"}
                if header is not None:
                    headers["Authorization"] = header
                rv = a.scim.client.open(path, method=method, headers=headers, data="{}")
                corpus.expect(f"{method} {rule} with {header!r:.20}", rv, 401)
