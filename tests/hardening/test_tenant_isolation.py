"""Tenant isolation sweep on the SCIM API: organization A's token never reaches, changes,
reveals or confirms organization B's users and groups.

Every route and verb on B's resources is 404 (never 403, never 412: nothing may confirm
that the id exists), and the 404 reads like the one for an id that exists nowhere; lists,
filters (on every attribute that could match B's rows) and the three ``.search``
endpoints return none of B's rows; B's users cannot be made members of A's groups; and
B's names are no uniqueness oracle. The ids of another organization in every verb are
also in the bad-input corpus; this sweeps what comes back.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote

from .conftest import SEARCH_REQUEST
from .conftest import patch_ops
from .conftest import snapshot
from .conftest import user_body

FILTERS_MATCHING_B = [
    'userName eq "{b_user_name}"',
    'userName co "bravo"',
    'userName sw "b"',
    "userName pr",
    'id eq "{b_user_id}"',
    'emails.value co "bravo"',
    'emails[type eq "work" and value co "bravo"]',
    'title eq "Engineer"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D"',
    'groups.value eq "{b_group_id}"',
    'groups.display co "bravo"',
    'not (userName co "alpha")',
    "active eq true or active eq false",
    'meta.created gt "2000-01-01T00:00:00Z"',
]
GROUP_FILTERS_MATCHING_B = [
    'displayName eq "{b_group_name}"',
    'displayName co "bravo"',
    "displayName pr",
    'id eq "{b_group_id}"',
    'members.value eq "{b_user_id}"',
    'members[value eq "{b_user_id}"]',
    'members.display co "bravo"',
    'not (displayName co "alpha")',
]


def _ids(rv) -> set[str]:
    assert rv.status_code == 200, rv.get_data(as_text=True)
    return {r["id"] for r in rv.get_json()["Resources"]}


def _fill(template: str, b) -> str:
    return template.format(
        b_user_name=b.user_names[0],
        b_user_id=b.user_ids[0],
        b_group_id=b.group_id,
        b_group_name=b.group_name,
    )


def test_lists_filters_and_searches_never_return_another_organizations_rows(tenants):
    a, b = tenants
    mine_users, mine_groups = set(a.user_ids), {a.group_id}
    theirs = set(b.user_ids) | {b.group_id}
    checked = 0
    for template in FILTERS_MATCHING_B:
        text = _fill(template, b)
        answers = [
            a.scim.get("/Users", query_string={"filter": text}),
            a.scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "filter": text}),
            a.scim.post("/.search", {"schemas": [SEARCH_REQUEST], "filter": text}),
        ]
        for rv in answers:
            found = _ids(rv)
            assert not found & theirs, (text, found & theirs)
            assert found <= mine_users | mine_groups
            checked += 1
        # the same filter with B's token does find B's rows: the filters are not empty
        if "alpha" not in template:
            assert _ids(b.scim.get("/Users", query_string={"filter": text})) & theirs, text
    for template in GROUP_FILTERS_MATCHING_B:
        text = _fill(template, b)
        for rv in (
            a.scim.get("/Groups", query_string={"filter": text}),
            a.scim.post("/Groups/.search", {"schemas": [SEARCH_REQUEST], "filter": text}),
            a.scim.post("/.search", {"schemas": [SEARCH_REQUEST], "filter": text}),
        ):
            found = _ids(rv)
            assert not found & theirs, (text, found & theirs)
            checked += 1
        if "alpha" not in template:
            assert _ids(b.scim.get("/Groups", query_string={"filter": text})) & theirs, text
    # unfiltered lists, every sort order and page
    for path in ("/Users", "/Groups"):
        for params in ({}, {"sortBy": "meta.created", "sortOrder": "descending"}, {"count": 1}):
            found = _ids(a.scim.get(path, query_string=params))
            assert not found & theirs
            checked += 1
    assert _ids(a.scim.post("/.search", {})) == mine_users | mine_groups
    assert a.scim.get("/Users").get_json()["totalResults"] == len(a.user_ids)
    assert checked > 60


def test_representations_never_mention_another_organizations_rows(tenants):
    a, b = tenants
    text = json.dumps(
        [
            a.scim.get("/Users", query_string={"attributes": "groups,emails,userName"}).get_json(),
            a.scim.get("/Groups").get_json(),
            a.scim.get(f"/Groups/{a.group_id}").get_json(),
            *(a.scim.get(f"/Users/{uid}").get_json() for uid in a.user_ids),
        ]
    )
    for secret in [*b.user_ids, b.group_id, *b.user_names, b.group_name]:
        assert secret not in text


def _routes(app):
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/scim/v2") and (
            "<user_id>" in rule.rule or "<group_id>" in rule.rule
        ):
            methods.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return sorted(methods.items())


def _body_for(rule: str, method: str):
    if method == "PATCH":
        return patch_ops(
            {"op": "replace", "path": "displayName", "value": "taken over"},
            {"op": "add", "path": "members", "value": [{"value": str(uuid.uuid4())}]},
        )
    if method in ("PUT", "POST"):
        if "Users" in rule:
            return user_body("taken.over@example.com")
        return {"displayName": "taken over"}
    return None


def test_every_route_and_verb_on_another_organizations_resource_is_a_plain_404(app, tenants):
    a, b = tenants
    before = snapshot(app)
    unknown = str(uuid.uuid4())
    checked = 0
    for rule, methods in _routes(app):
        for method in sorted(methods):
            for headers in (
                {},
                {"If-Match": 'W/"1"'},
                {"If-Match": 'W/"999"'},
                {"If-None-Match": "*"},
            ):
                answers = []
                for target_user, target_group in ((b.user_ids[0], b.group_id), (unknown, unknown)):
                    path = rule.replace("<user_id>", target_user).replace(
                        "<group_id>", target_group
                    )
                    body = _body_for(rule, method)
                    rv = a.scim.client.open(
                        path,
                        method=method,
                        headers=a.scim.headers(
                            {"Content-Type": "application/scim+json", **headers}
                        ),
                        data=json.dumps(body) if body is not None else None,
                    )
                    assert rv.status_code == 404, (method, path, headers, rv.status_code)
                    detail = rv.get_json()["detail"]
                    # the answer for B's id reads exactly like the one for no id at all
                    answers.append(re.sub(r"[0-9a-f-]{36}|request id [0-9a-f]+", "X", detail))
                    checked += 1
                assert answers[0] == answers[1], answers
    assert checked >= 40
    assert snapshot(app) == before


def test_another_organizations_users_cannot_be_made_members_of_a_group(app, tenants):
    a, b = tenants
    group = f"/Groups/{a.group_id}"
    for body in (
        patch_ops(
            {"op": "add", "path": "members", "value": [{"value": uid} for uid in b.user_ids]}
        ),
        patch_ops({"op": "replace", "path": "members", "value": [{"value": b.user_ids[0]}]}),
        patch_ops({"op": "add", "value": {"members": [{"value": b.user_ids[1]}]}}),
    ):
        rv = a.scim.patch(group, body)
        assert rv.status_code in (200, 204), rv.get_data(as_text=True)
        members = {m["value"] for m in a.scim.get(group).get_json().get("members", [])}
        assert not members & set(b.user_ids)
    rv = a.scim.put(group, {"displayName": a.group_name, "members": [{"value": b.user_ids[0]}]})
    assert rv.status_code == 200
    assert not {m["value"] for m in rv.get_json().get("members", [])} & set(b.user_ids)
    rv = a.scim.post("/Groups", {"displayName": "new", "members": [{"value": b.user_ids[0]}]})
    assert rv.status_code == 201
    assert not rv.get_json().get("members")
    # and B's group still has exactly its members, B's users exactly their groups
    members = {m["value"] for m in b.scim.get(f"/Groups/{b.group_id}").get_json()["members"]}
    assert members == set(b.user_ids)
    for uid in b.user_ids:
        assert [g["value"] for g in b.scim.get(f"/Users/{uid}").get_json()["groups"]] == [
            b.group_id
        ]


def test_another_organizations_names_are_no_uniqueness_oracle(tenants):
    a, b = tenants
    rv = a.scim.post("/Users", user_body(b.user_names[0].upper()))
    assert rv.status_code == 201
    assert a.scim.post("/Groups", {"displayName": b.group_name}).status_code == 201
    # renaming onto B's names is as free as onto any unused name
    patch = patch_ops({"op": "replace", "path": "userName", "value": b.user_names[1]})
    assert a.scim.patch(f"/Users/{a.user_ids[0]}", patch).status_code == 200
    assert b.scim.get(f"/Users/{b.user_ids[1]}").get_json()["userName"] == b.user_names[1]


def test_a_path_that_smuggles_another_id_is_404(tenants):
    a, b = tenants
    for path in (
        f"/Users/{quote(b.user_ids[0] + '/../' + a.user_ids[0], safe='')}",
        f"/Users/{b.user_ids[0]}%00",
        f"/Users/{b.user_ids[0].upper()}",
        f"/Users/{b.user_ids[0]} ",
        f"/Groups/{b.group_id}%2F..%2F{a.group_id}",
    ):
        assert a.scim.get(path).status_code == 404, path
