"""The reasons an SSO sign-in ends the way it does: a short label for the admins' record
and the sentence the person signing in reads. The sentences say what happened to *this*
sign-in and never anything about other accounts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    label: str
    message: str
    #: HTTP status of the refusal page.
    status: int = 403


REASONS: dict[str, Reason] = {
    "signed_in": Reason("Signed in", "You are signed in.", 200),
    "no_match": Reason(
        "No matching user",
        "Your identity provider account does not match any user provisioned to Willow for "
        "this organization. Ask your administrator to assign you to the Willow app in the "
        "identity provider.",
    ),
    "subject_mismatch": Reason(
        "Another provider account",
        "This identity provider account is not the one your Willow user signs in with. "
        "Sign in with that account, or ask your administrator.",
    ),
    "deactivated": Reason(
        "User deactivated",
        "Your Willow account is deactivated. Ask your administrator to reactivate it in "
        "the identity provider.",
    ),
    "deleted": Reason(
        "User deleted",
        "Your Willow account is deactivated (it was removed by the identity provider). Ask "
        "your administrator to assign you to the Willow app again.",
    ),
    "no_role": Reason(
        "No role",
        "Your account is not in any group that grants a role in the Willow console. Ask "
        "your administrator to add you to such a group in the identity provider.",
    ),
    "idp_error": Reason(
        "Identity provider refused",
        "Your identity provider did not sign you in to Willow.",
    ),
    "state_mismatch": Reason(
        "State mismatch",
        "This sign-in was not started from this browser, or it took too long. Start again "
        "from the sign-in page.",
        400,
    ),
    "invalid_token": Reason(
        "ID token rejected",
        "The answer from your identity provider could not be verified, so Willow did not "
        "sign you in. Your administrator can see the details.",
    ),
    "provider_unreachable": Reason(
        "Provider unreachable",
        "Willow could not reach your identity provider. Try again in a few minutes; if it "
        "keeps happening, tell your administrator.",
        502,
    ),
    "not_configured": Reason(
        "SSO not configured",
        "Single sign-on is not set up for this organization.",
        404,
    ),
    "misconfigured": Reason(
        "SSO misconfigured",
        "Single sign-on is not set up correctly for this organization. Your administrator "
        "can see the details.",
        500,
    ),
    "sso_disabled": Reason(
        "SSO turned off",
        "Single sign-on was turned off for this organization.",
    ),
}


def reason(code: str) -> Reason:
    return REASONS.get(code) or Reason(code, "Willow did not sign you in.")
