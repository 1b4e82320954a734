"""The replay runner itself: a matcher that accepted everything would make every scenario
pass, so its matching rules are pinned here."""

from __future__ import annotations

import json

import pytest

from .runner import ScenarioError
from .runner import encode_path
from .runner import extract
from .runner import invariant_violations
from .runner import load
from .runner import match
from .runner import scenario_names
from .runner import substitute

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.mark.parametrize(
    ("pattern", "actual", "matches"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": 1}, {"b": 1}, False),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": True}, {"a": "True"}, False),
        ({"a": 1}, {"a": True}, False),
        ({"a": "1"}, {"a": 1}, False),
        ([{"v": 1}, {"v": 2}], [{"v": 1}, {"v": 2}], True),
        ([{"v": 1}, {"v": 2}], [{"v": 2}, {"v": 1}], False),
        ([{"v": 1}], [{"v": 1}, {"v": 2}], False),
        ({"x": {"$nonEmpty": True}}, {"x": "a"}, True),
        ({"x": {"$nonEmpty": True}}, {"x": False}, True),
        ({"x": {"$nonEmpty": True}}, {"x": ""}, False),
        ({"x": {"$nonEmpty": True}}, {}, False),
        ({"x": {"$empty": True}}, {}, True),
        ({"x": {"$empty": True}}, {"x": []}, True),
        ({"x": {"$empty": True}}, {"x": [1]}, False),
        ({"x": {"$absent": True}}, {}, True),
        ({"x": {"$absent": True}}, {"x": None}, False),
        ({"x": {"$type": "integer"}}, {"x": 3}, True),
        ({"x": {"$type": "integer"}}, {"x": "3"}, False),
        ({"x": {"$type": "integer"}}, {"x": True}, False),
        ({"x": {"$type": "boolean"}}, {"x": False}, True),
        ({"x": {"$type": "boolean"}}, {"x": 0}, False),
        ({"x": {"$length": 2}}, {"x": [1, 2]}, True),
        ({"x": {"$length": 2}}, {"x": [1]}, False),
        ({"x": {"$contains": {"v": 2}}}, {"x": [{"v": 1}, {"v": 2}]}, True),
        ({"x": {"$contains": {"v": 3}}}, {"x": [{"v": 1}, {"v": 2}]}, False),
        ({"x": {"$contains": "a"}}, {}, False),
        ({"x": {"$notContains": {"v": 1}}}, {"x": [{"v": 2}]}, True),
        ({"x": {"$notContains": {"v": 1}}}, {"x": [{"v": 1}]}, False),
        ({"x": {"$unordered": [{"v": 1}, {"v": 2}]}}, {"x": [{"v": 2}, {"v": 1}]}, True),
        ({"x": {"$unordered": [{"v": 1}, {"v": 1}]}}, {"x": [{"v": 1}, {"v": 2}]}, False),
        ({"x": {"$unordered": [{"v": 1}]}}, {"x": [{"v": 1}, {"v": 1}]}, False),
        ({"x": {"$not": "a"}}, {"x": "b"}, True),
        ({"x": {"$not": "a"}}, {"x": "a"}, False),
        ({"x": {"$ieq": "Ab"}}, {"x": "aB"}, True),
        ({"x": {"$ieq": "Ab"}}, {"x": "ab "}, False),
    ],
)
def test_patterns_match_json_values(pattern, actual, matches):
    assert (match(pattern, actual, "$") == []) is matches


def test_a_mismatch_names_where_it_is():
    assert match({"name": {"givenName": "A"}}, {"name": {"givenName": "B"}}, "$") == [
        "$.name.givenName: expected 'A', got 'B'"
    ]


def test_an_unknown_matcher_is_a_scenario_error():
    with pytest.raises(ScenarioError):
        match({"$nonempty": True}, "x", "$")


@pytest.mark.parametrize(
    ("status", "mimetype", "body", "violation"),
    [
        (200, "application/json", {"id": "1"}, "Content-Type"),
        (204, "application/scim+json", {"id": "1"}, "204"),
        (404, "application/scim+json", {"detail": "x", "status": "404"}, "not a SCIM Error"),
        (404, "application/scim+json", {"schemas": [ERROR], "detail": "x", "status": 404}, "404"),
        (409, "application/scim+json", {"schemas": [ERROR], "status": "409"}, "detail"),
        (200, "application/scim+json", {"active": "False"}, "JSON boolean"),
        (200, "application/scim+json", {"emails": [{"primary": 1}]}, "JSON boolean"),
        (201, "application/scim+json", {"password": "secret"}, "password"),
    ],
)
def test_every_response_is_checked_against_the_invariants(status, mimetype, body, violation):
    errors = invariant_violations(status, mimetype, json.dumps(body), body)
    assert any(violation in e for e in errors), errors


def test_a_good_error_satisfies_the_invariants():
    body = {"schemas": [ERROR], "status": "404", "detail": "Resource not found."}
    assert invariant_violations(404, "application/scim+json", "{}", body) == []


def test_variables_are_substituted_inside_strings_and_as_whole_values():
    variables = {"id": "u1", "meta": {"resourceType": "User"}}
    assert substitute({"path": "/Users/{id}", "meta": "{meta}"}, variables) == {
        "path": "/Users/u1",
        "meta": {"resourceType": "User"},
    }
    with pytest.raises(ScenarioError):
        substitute("/Users/{unknownId}", variables)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("$", {"Resources": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}),
        ("$.Resources[1].id", "b"),
        ("$.Resources[1:]", [{"id": "b"}, {"id": "c"}]),
        ("$.Resources[0:2]", [{"id": "a"}, {"id": "b"}]),
    ],
)
def test_save_paths_read_the_response(where, expected):
    body = {"Resources": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}
    assert extract(where, body, {}) == expected


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ('/Users?filter=userName eq "a@b.c"', "/Users?filter=userName%20eq%20%22a@b.c%22"),
        ("/Users?filter=userName+eq+%22x%22", "/Users?filter=userName+eq+%22x%22"),
        ("/Users?startIndex=1&count=2", "/Users?startIndex=1&count=2"),
        (
            '/Users?filter=emails[type eq "work"]',
            "/Users?filter=emails%5Btype%20eq%20%22work%22%5D",
        ),
    ],
)
def test_query_strings_are_encoded_like_a_client_would(path, sent):
    assert encode_path(path) == sent


@pytest.mark.parametrize("name", scenario_names())
def test_scenario_files_are_well_formed(name):
    """Every scenario is described, and uses only variables defined or saved before."""
    scenario = load(name)
    assert scenario["title"] and scenario["source"] and scenario["proves"]
    known = {"base": "", "token": "", **scenario.get("vars", {})}
    for step in scenario["steps"]:
        assert step["step"]
        for n in range(1, step.get("repeat", 1) + 1):
            if "repeat" in step:
                known["n"] = n
            substitute([step["request"], step["expect"]], known)
            for save_name in step.get("save", {}):
                known[substitute(save_name, known)] = ""
