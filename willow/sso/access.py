"""Console access of SSO accounts, checked again on every request.

A signed-in SSO account keeps its session only while its provisioned user is still
allowed in: deactivating or deleting the user through SCIM, removing them from their last
role group, or turning SSO off ends the session at the next request. A change of role
takes effect at that request too.
"""

from __future__ import annotations

from ..storage.extensions import db
from ..storage.models import ConsoleUser
from ..storage.models import User
from .matching import refusal_for
from .settings import enabled_sso_config


def check_access(account: ConsoleUser) -> tuple[str | None, str | None]:
    """``(reason, role)``: why the SSO account may no longer use the console, or None and
    the role its user's groups grant now. Reads only."""
    if enabled_sso_config(account.organization_id) is None:
        return "sso_disabled", None
    user = db.session.get(User, account.scim_user_id)
    if user is None or user.organization_id != account.organization_id:
        return "deleted", None
    return refusal_for(user)
