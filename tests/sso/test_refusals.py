"""Every way an SSO sign-in is refused says why, records the reason, signs nobody in,
and never answers a 500 or a stack trace."""

from __future__ import annotations

import time

import pytest

from willow.sso import oidc

from .providers import new_key
from .providers import query_of

SUB = "alice-okta-id"


@pytest.fixture
def idp(sso, crafting_provider):
    """SSO configured against the crafting provider, with alice provisioned as an admin."""
    sso.configure(crafting_provider.issuer)
    sso.alice = sso.provision("alice@example.com", external_id=SUB, emails=["alice@example.com"])
    sso.push_group("Willow Admins", [sso.alice], role="admin")
    return crafting_provider


def begin(sso) -> tuple[str, str]:
    params = query_of(sso.start())
    return params["state"], params["nonce"]


def finish(sso, state: str, **params):
    return sso.client.get(
        "/admin/sso/callback", query_string={"code": "the-code", "state": state, **params}
    )


def assert_refused(
    rv, sso, reason: str, status: int = 403, text: str | None = None, filed: bool = True
):
    """The refusal page says why; the refusal is filed in the organization's record
    (``filed``) or, for a request tied to no sign-in this browser started, nowhere."""
    body = rv.get_data(as_text=True)
    assert rv.status_code == status, body
    assert f'data-reason="{reason}"' in body
    if text:
        assert text in body
    assert "Traceback" not in body
    events = sso.events()
    if filed:
        assert events[-1]["outcome"] == "refused"
        assert events[-1]["reason"] == reason
    else:
        assert all(e["reason"] != reason for e in events), events
    # Nobody is signed in.
    assert sso.client.get("/admin/tokens").status_code == 302
    return events[-1] if filed else None


def test_the_valid_token_of_the_crafting_provider_signs_alice_in(sso, idp):
    state, nonce = begin(sso)
    idp.answer(nonce)
    rv = finish(sso, state)
    assert rv.status_code == 302
    assert sso.client.get("/admin/tokens").status_code == 200
    # The code exchange carried the PKCE verifier.
    assert idp.token_requests[-1]["code_verifier"]


def test_wrong_audience_is_refused(sso, idp):
    state, nonce = begin(sso)
    idp.answer(nonce, aud="some-other-app")
    event = assert_refused(finish(sso, state), sso, "invalid_token", text="could not be verified")
    assert "aud" in event["detail"]


def test_an_expired_id_token_is_refused(sso, idp):
    state, nonce = begin(sso)
    now = int(time.time())
    idp.answer(nonce, iat=now - 3600, exp=now - 5 * 60)
    event = assert_refused(finish(sso, state), sso, "invalid_token")
    assert "expired" in event["detail"]


def test_a_small_clock_skew_on_exp_is_tolerated(sso, idp):
    state, nonce = begin(sso)
    now = int(time.time())
    idp.answer(nonce, iat=now - 300, exp=now - 20)
    assert finish(sso, state).status_code == 302


def test_an_id_token_issued_in_the_future_is_refused(sso, idp):
    state, nonce = begin(sso)
    now = int(time.time())
    idp.answer(nonce, iat=now + 10 * 60, exp=now + 20 * 60)
    event = assert_refused(finish(sso, state), sso, "invalid_token")
    assert "iat" in event["detail"]


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(sso, idp):
    idp.signing_key = new_key("attacker-key")
    state, nonce = begin(sso)
    idp.answer(nonce)
    event = assert_refused(finish(sso, state), sso, "invalid_token")
    assert "not in the JWKS" in event["detail"]


def test_a_token_signed_by_another_key_under_the_published_key_id_is_refused(sso, idp):
    idp.signing_key = new_key("k1")  # same kid as the published key, other key material
    state, nonce = begin(sso)
    idp.answer(nonce)
    event = assert_refused(finish(sso, state), sso, "invalid_token")
    assert "signature" in event["detail"]


def test_a_rotated_signing_key_is_fetched_from_the_jwks(sso, idp):
    state, nonce = begin(sso)
    idp.answer(nonce)
    assert finish(sso, state).status_code == 302
    assert idp.jwks_requests == 1
    sso.client.post("/admin/logout")

    idp.signing_key = new_key("k2")
    idp.published = [idp.signing_key]
    state, nonce = begin(sso)
    idp.answer(nonce)
    assert finish(sso, state).status_code == 302
    assert idp.jwks_requests == 2


def test_a_nonce_mismatch_is_refused(sso, idp):
    state, _ = begin(sso)
    idp.answer("a-nonce-from-another-sign-in")
    event = assert_refused(finish(sso, state), sso, "invalid_token")
    assert "nonce" in event["detail"]


def test_a_missing_nonce_is_refused(sso, idp):
    state, _ = begin(sso)
    idp.answer(None)
    assert_refused(finish(sso, state), sso, "invalid_token")


def test_another_issuer_is_refused(sso, idp):
    state, nonce = begin(sso)
    idp.answer(nonce, iss="https://evil.example.com")
    event = assert_refused(finish(sso, state), sso, "invalid_token")
    assert "iss" in event["detail"]


def test_a_state_that_this_browser_did_not_start_is_refused(sso, idp, app):
    state, nonce = begin(sso)
    idp.answer(nonce)
    forged = finish(sso, "forged-state")
    assert_refused(
        forged,
        sso,
        "state_mismatch",
        status=400,
        text="not started from this browser",
        filed=False,
    )
    # The real state, but in another browser (no session): refused too.
    other_browser = app.test_client()
    rv = other_browser.get("/admin/sso/callback", query_string={"code": "c", "state": state})
    assert rv.status_code == 400
    assert idp.token_requests == []


def test_a_state_is_used_once(sso, idp):
    state, nonce = begin(sso)
    idp.answer(nonce)
    assert finish(sso, state).status_code == 302
    sso.client.post("/admin/logout")
    assert_refused(finish(sso, state), sso, "state_mismatch", status=400, filed=False)


def test_an_error_callback_from_the_provider_is_refused_with_its_error(sso, idp):
    state, _ = begin(sso)
    rv = finish(sso, state, error="access_denied", error_description="User cancelled")
    event = assert_refused(rv, sso, "idp_error", text="did not sign you in")
    assert event["detail"] == "access_denied: User cancelled"
    assert idp.token_requests == []


def test_a_token_endpoint_error_is_refused_and_its_text_kept_in_the_server_log_only(
    sso, idp, caplog
):
    idp.token_error = "invalid_grant"
    state, _ = begin(sso)
    rv = finish(sso, state)
    event = assert_refused(rv, sso, "idp_error")
    assert "invalid_grant" not in event["detail"]
    assert "invalid_grant" not in rv.get_data(as_text=True)
    reference = event["detail"].rpartition("reference ")[2]
    assert event["detail"].startswith("the identity provider refused the code exchange")
    assert any(
        reference in r.getMessage() and "invalid_grant" in r.getMessage() for r in caplog.records
    )


def test_an_unknown_user_is_refused_without_naming_any_account(sso, idp):
    state, nonce = begin(sso)
    idp.answer(nonce, sub="mallory-id", email="mallory@example.com", email_verified=True)
    rv = finish(sso, state)
    event = assert_refused(rv, sso, "no_match", text="does not match any user")
    assert "alice" not in rv.get_data(as_text=True)
    assert (event["subject"], event["email"]) == ("mallory-id", "mallory@example.com")


def test_an_unverified_email_does_not_match(sso, idp):
    state, nonce = begin(sso)
    idp.answer(nonce, sub="unknown-sub", email="alice@example.com", email_verified=False)
    event = assert_refused(finish(sso, state), sso, "no_match")
    assert "not verified" in event["detail"]


def test_a_verified_email_of_a_user_whose_external_id_is_another_sub_is_refused(sso, idp):
    """Alice's externalId is her account at the provider: another account there that
    carries her email is not her."""
    state, nonce = begin(sso)
    idp.answer(nonce, sub="another-id", email="ALICE@example.com", email_verified=True)
    rv = finish(sso, state)
    event = assert_refused(rv, sso, "subject_mismatch", text="not the one your Willow user")
    assert event["detail"] == "matched by email = userName; the user's externalId is another sub"
    assert event["scim_user_id"] == sso.alice


def test_an_entra_token_whose_oid_is_the_external_id_signs_in_despite_its_pairwise_sub(sso, idp):
    """Entra's sub differs per application; its oid claim is the object id that Entra
    provisioning sends as externalId."""
    state, nonce = begin(sso)
    idp.answer(
        nonce,
        sub="pairwise-sub",
        oid=SUB,
        email="alice@example.com",
        email_verified=True,
    )
    assert finish(sso, state).status_code == 302


def test_the_first_sso_sign_in_binds_the_sub_and_another_sub_is_refused_later(sso, idp):
    bob = sso.provision("bob@example.com", emails=["bob@example.com"])
    sso.push_group("Willow Members", [bob], role="member")
    state, nonce = begin(sso)
    idp.answer(nonce, sub="bob-first", email="bob@example.com", email_verified=True)
    assert finish(sso, state).status_code == 302
    assert sso.events()[-1]["detail"] == "matched by email = userName"
    sso.client.post("/admin/logout")

    state, nonce = begin(sso)
    idp.answer(nonce, sub="bob-second", email="bob@example.com", email_verified=True)
    event = assert_refused(finish(sso, state), sso, "subject_mismatch")
    assert "bound to another sub" in event["detail"]

    # The bound sub still signs in.
    state, nonce = begin(sso)
    idp.answer(nonce, sub="bob-first", email="bob@example.com", email_verified=True)
    assert finish(sso, state).status_code == 302


def test_a_test_sign_in_does_not_bind_the_sub(sso, idp, console):
    bob = sso.provision("bob@example.com")
    sso.push_group("Willow Members", [bob], role="member")
    console.login()
    params = query_of(sso.client.post("/admin/sso/test").headers["Location"])
    idp.answer(params["nonce"], sub="bob-test", email="bob@example.com", email_verified=True)
    assert finish(sso, params["state"]).status_code == 302
    assert sso.events()[-1]["outcome"] == "success"
    console.logout()
    state, nonce = begin(sso)
    idp.answer(nonce, sub="bob-real", email="bob@example.com", email_verified=True)
    assert finish(sso, state).status_code == 302


def test_email_matching_is_limited_to_the_allowed_domains(sso, idp):
    sso.configure(idp.issuer, allowed_domains="corp.example.org")
    sso.provision("carol@example.com", emails=["carol@example.com"], groups=["Carol's"])
    state, nonce = begin(sso)
    idp.answer(nonce, sub="carol-id", email="carol@example.com", email_verified=True)
    event = assert_refused(finish(sso, state), sso, "no_match")
    assert "not an allowed domain" in event["detail"]


def test_a_user_without_a_role_is_refused(sso, idp):
    sso.provision("bob@example.com", external_id="bob-id", groups=["Engineering"])
    state, nonce = begin(sso)
    idp.answer(nonce, sub="bob-id")
    event = assert_refused(finish(sso, state), sso, "no_role", text="not in any group")
    assert event["scim_user_id"] is not None


def test_a_deactivated_user_is_refused(sso, idp, scim):
    scim.patch(
        f"/Users/{sso.alice}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
    )
    state, nonce = begin(sso)
    idp.answer(nonce)
    assert_refused(finish(sso, state), sso, "deactivated", text="is deactivated")


def test_an_unreachable_provider_at_the_callback_gets_a_clear_page_not_a_500(sso, idp):
    state, nonce = begin(sso)
    idp.stop()
    rv = finish(sso, state)
    event = assert_refused(rv, sso, "provider_unreachable", status=502, text="could not reach")
    assert "could not reach the token endpoint" in event["detail"]
    # The connection error's own text (address, errno) stays in the server log.
    assert "Connection refused" not in event["detail"] and "see the server log" in event["detail"]


def test_an_unreachable_provider_at_the_start_gets_a_clear_page_not_a_500(sso, idp):
    idp.stop()
    oidc.metadata_cache.forget(idp.issuer)
    rv = sso.client.post("/admin/sso/start")
    assert_refused(rv, sso, "provider_unreachable", status=502, text="could not reach")


def test_sign_in_with_sso_when_no_organization_uses_it(sso):
    rv = sso.client.post("/admin/sso/start")
    assert rv.status_code == 404
    assert "not set up" in rv.get_data(as_text=True)
