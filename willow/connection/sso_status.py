"""Whether an organization's provisioned users can sign in: the one set of sentences the
API Tokens page, the SSO page and ``flask --app app check`` say.

SCIM never depends on SSO: an IdP's provisioning works either way (a console setting must
never break an IdP). What SSO decides is whether the users it provisions can sign in.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The rule, said once wherever the status is shown.
SCIM_WORKS_EITHER_WAY = (
    "SCIM provisioning works with or without SSO; SSO is what lets the provisioned users sign in."
)
NOT_CONFIGURED = "SSO is not configured: provisioned users cannot sign in until SSO is configured."
CONFIGURED = "SSO is configured: provisioned users sign in with SSO"


@dataclass(frozen=True)
class SsoStatus:
    configured: bool
    #: The provider's issuer when configured.
    issuer: str | None
    text: str


def sso_status(issuer: str | None) -> SsoStatus:
    """The status for an organization whose enabled SSO provider is ``issuer`` (None: none)."""
    if issuer is None:
        return SsoStatus(False, None, NOT_CONFIGURED)
    return SsoStatus(True, issuer, f"{CONFIGURED} ({issuer}).")
