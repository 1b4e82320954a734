"""An SSO account's console access is decided again on every request."""

from __future__ import annotations

import pytest

from .test_refusals import begin
from .test_refusals import finish

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def signed_in(sso, idp):
    """Alice signed in through SSO as an admin."""
    state, nonce = begin(sso)
    idp.answer(nonce)
    assert finish(sso, state).status_code == 302
    assert sso.client.get("/admin/tokens").status_code == 200
    return sso


@pytest.fixture
def idp(sso, crafting_provider):
    from .test_refusals import SUB

    sso.configure(crafting_provider.issuer)
    sso.alice = sso.provision("alice@example.com", external_id=SUB, emails=["alice@example.com"])
    sso.admins = sso.push_group("Willow Admins", [sso.alice], role="admin")
    return crafting_provider


def assert_session_ended(sso, reason: str, text: str) -> None:
    rv = sso.client.get("/admin/tokens")
    assert rv.status_code == 302 and "/admin/login" in rv.headers["Location"]
    page = sso.client.get(rv.headers["Location"]).get_data(as_text=True)
    assert "Your console session has ended." in page and text in page
    event = sso.events()[-1]
    assert (event["outcome"], event["reason"]) == ("ended", reason)
    assert event["scim_user_id"] == sso.alice
    # Still out on the request after.
    assert sso.client.get("/admin/directory/users").status_code == 302


def test_deactivation_through_scim_ends_the_session_at_the_next_request(signed_in, scim):
    rv = scim.patch(
        f"/Users/{signed_in.alice}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]},
    )
    assert rv.status_code == 200
    assert_session_ended(signed_in, "deactivated", "is deactivated")


def test_deletion_through_scim_ends_the_session_at_the_next_request(signed_in, scim):
    assert scim.delete(f"/Users/{signed_in.alice}").status_code == 204
    assert_session_ended(signed_in, "deleted", "removed by the identity provider")


def test_removal_from_the_last_role_group_ends_the_session(signed_in, scim):
    rv = scim.patch(
        f"/Groups/{signed_in.admins}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{signed_in.alice}"]'}],
        },
    )
    assert rv.status_code in (200, 204)
    assert_session_ended(signed_in, "no_role", "not in any group")


def test_turning_sso_off_ends_sso_sessions(signed_in, runner):
    assert runner.invoke(args=["sso", "disable"]).exit_code == 0
    assert_session_ended(signed_in, "sso_disabled", "turned off")


def test_a_lowered_role_applies_at_the_next_request(signed_in, runner):
    assert runner.invoke(args=["group", "role", "Willow Admins", "viewer"]).exit_code == 0
    assert signed_in.client.get("/admin/tokens").status_code == 403
    assert signed_in.client.get("/admin/directory/users").status_code == 200


def test_the_highest_role_of_the_users_groups_wins(sso, idp, runner):
    sso.push_group("Willow Viewers", [sso.alice], role="viewer")
    sso.push_group("Willow Members", [sso.alice], role="member")
    state, nonce = begin(sso)
    idp.answer(nonce)
    assert finish(sso, state).status_code == 302
    assert sso.events()[-1]["role"] == "admin"
    assert runner.invoke(args=["group", "role", "Willow Admins", "none"]).exit_code == 0
    assert sso.client.get("/admin/tokens").status_code == 403  # now a member
