"""A 404 on a path that is no SCIM route says what was expected (pure hint, and over HTTP)."""

from __future__ import annotations

import pytest

from willow.scim.protocol.wrong_path import hint


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/scim/v2/users", "case-sensitive: did you mean /scim/v2/Users?"),
        ("/scim/v2/GROUPS/abc", "case-sensitive: did you mean /scim/v2/Groups/abc?"),
        ("/scim/v2/serviceproviderconfig", "did you mean /scim/v2/ServiceProviderConfig?"),
        ("/scim/v2/v2/Users", "the base URL has /v2 twice: did you mean /scim/v2/Users?"),
        ("/scim/v2/scim/v2/Groups", "has /v2 twice: did you mean /scim/v2/Groups?"),
        ("/scim/v2/v2/users/42", "has /v2 twice: did you mean /scim/v2/Users/42?"),
        ("/scim/Users", "missing /v2: did you mean /scim/v2/Users?"),
        ("/scim/groups", "missing /v2: did you mean /scim/v2/Groups?"),
        ("/scim/v1/Users", "SCIM 2.0 only"),
        ("/scim", "the base URL ends in /scim/v2"),
        ("/scim/v2/Accounts", "'Accounts' is not a SCIM endpoint: after /scim/v2 come Users"),
        ("/scim/v2/Users/42/emails", "addressed as /scim/v2/Users/{id}, with nothing after"),
    ],
)
def test_the_hint_names_what_was_expected(path, expected):
    assert expected.lower() in hint(path).lower()


def test_the_hint_of_a_doubled_base_does_not_also_claim_a_case_mistake():
    assert "case" not in hint("/scim/v2/v2/Users").split("(")[0]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/scim/v2/users", "did you mean /scim/v2/Users?"),
        ("/scim/v2/v2/Users", "/v2 twice"),
        ("/scim/Users", "missing /v2"),
    ],
)
def test_an_unrouted_scim_path_answers_404_with_the_hint_in_the_scim_error(scim, path, expected):
    rv = scim.get(path)
    assert rv.status_code == 404
    body = rv.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "404"
    assert expected in body["detail"]
    assert rv.headers["Content-Type"].startswith("application/scim+json")


def test_a_missing_resource_on_a_real_route_keeps_its_own_detail(scim):
    rv = scim.get("/Users/00000000-0000-4000-8000-000000000000")
    assert rv.status_code == 404
    assert "did you mean" not in rv.get_json()["detail"]
    assert "base URL" not in rv.get_json()["detail"]
