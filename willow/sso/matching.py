"""Who may sign in through SSO, and as what.

Only a SCIM-provisioned user of the organization: found by the ID token's ``sub`` equal
to the user's ``externalId`` (Okta and JumpCloud send their user id in both), else by a
verified ``email`` claim equal to the userName or to a work or primary email, compared
case-insensitively. Either way the ``sub`` must be the user's: the one bound to them at
their first SSO sign-in (``SsoSubject``), or before that their ``externalId`` when the
provider set one (or Entra's ``oid`` claim, since Entra's ``sub`` differs for every
application); so a second account at the provider that carries the same email cannot
sign in as them. The user must be active and not deleted, and their console role is
the highest role their groups grant (admin > member > viewer, ``willow.console.access``).
The same decision is taken again on every console request of an SSO account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..console.access import deprovisioned
from ..console.access import effective_roles
from ..storage.extensions import db
from ..storage.models import ROLES
from ..storage.models import ConsoleUser
from ..storage.models import User
from ..storage.models import UserValue
from .models import SsoSubject


@dataclass
class Match:
    """The provisioned user the claims belong to, if any, and how they were found."""

    user: User | None
    by: str | None = None
    #: Why no user was found, for the admins' record.
    detail: str | None = None


def highest_role(roles: set[str]) -> str | None:
    """``ROLES`` is ordered from most to least powerful."""
    return next((role for role in ROLES if role in roles), None)


def _email_claim(claims: dict[str, Any]) -> tuple[str | None, bool]:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None, False
    verified = claims.get("email_verified")
    # Some providers send the boolean as a string.
    return email.strip().lower(), verified is True or verified == "true"


def _candidates(organization_id: int, condition: Any) -> list[User]:
    """The organization's users matching ``condition``; the live ones if any are live."""
    users = list(
        db.session.scalars(select(User).where(User.organization_id == organization_id, condition))
    )
    live = [u for u in users if u.deleted_at is None]
    return live or users


def find_user(organization_id: int, claims: dict[str, Any], allowed_domains: list[str]) -> Match:
    sub = claims.get("sub")
    if isinstance(sub, str) and sub:
        by_sub = _candidates(organization_id, User.external_id == sub)
        if len(by_sub) == 1:
            return Match(by_sub[0], "sub")
        if len(by_sub) > 1:
            return Match(None, detail="several users have this externalId")

    email, verified = _email_claim(claims)
    if email is None:
        return Match(None, detail="no user with this sub as externalId, and no email claim")
    if not verified:
        return Match(None, detail=f"no user with this sub as externalId; {email} not verified")
    domain = email.rpartition("@")[2]
    if allowed_domains and domain not in allowed_domains:
        return Match(None, detail=f"email domain {domain} is not an allowed domain")

    work_or_primary_email = exists().where(
        UserValue.user_id == User.id,
        UserValue.organization_id == organization_id,
        UserValue.attribute == "emails",
        UserValue.value_norm == email,
        or_(UserValue.type == "work", UserValue.primary.is_(True)),
    )
    by_user_name = _candidates(organization_id, User.user_name_norm == email)
    if len(by_user_name) == 1:
        return Match(by_user_name[0], "email = userName")
    by_email = _candidates(organization_id, work_or_primary_email)
    if len(by_email) == 1:
        return Match(by_email[0], "email = work/primary email")
    if len(by_user_name) + len(by_email) > 1:
        return Match(None, detail=f"several users match email {email}")
    return Match(None, detail=f"no user with this sub as externalId or email {email}")


def bound_subject(user: User, issuer: str) -> str | None:
    return db.session.scalars(
        select(SsoSubject.subject).where(
            SsoSubject.scim_user_id == user.id, SsoSubject.issuer == issuer
        )
    ).first()


def subject_refusal(user: User, issuer: str, claims: dict[str, Any]) -> str | None:
    """Why the ID token's ``sub`` is not this user's (detail for the admins), or None."""
    sub = claims.get("sub")
    bound = bound_subject(user, issuer)
    if bound is not None:
        return None if sub == bound else "the user is bound to another sub at this provider"
    # Entra's sub is pairwise (one per application); its object id, which Entra
    # provisioning commonly sends as externalId, comes in the oid claim.
    if user.external_id and user.external_id not in (sub, claims.get("oid")):
        return "the user's externalId is another sub"
    return None


def bind_subject(user: User, issuer: str, sub: str) -> bool:
    """Bind the user to ``sub`` at their first sign-in through ``issuer`` (the caller
    commits); False when they are bound to another one, which a concurrent first
    sign-in may have just done."""
    bound = bound_subject(user, issuer)
    if bound is not None:
        return bound == sub
    try:
        with db.session.begin_nested():
            db.session.add(
                SsoSubject(
                    organization_id=user.organization_id,
                    scim_user_id=user.id,
                    issuer=issuer,
                    subject=sub[:256],
                )
            )
    except IntegrityError:
        return bound_subject(user, issuer) == sub
    return True


def refusal_for(user: User) -> tuple[str | None, str | None]:
    """``(reason, role)``: a refusal reason (``deleted``, ``deactivated``, ``no_role``) and
    no role, or no reason and the console role the user's groups grant."""
    reason = deprovisioned(user)
    if reason is not None:
        return reason, None
    role = highest_role(effective_roles(user.id, user.organization_id))
    if role is None:
        return "no_role", None
    return None, role


def display_email(user: User) -> str:
    """The address the console shows for the user: primary, else work email, else userName."""
    emails = [v for v in user.values if v.attribute == "emails" and v.value]
    chosen = next((v for v in emails if v.primary), None) or next(
        (v for v in emails if v.type == "work"), None
    )
    return (chosen.value if chosen else user.user_name).strip().lower()[:320]


def console_account(user: User, role: str) -> ConsoleUser:
    """The console account of an SSO user, made on first sign-in; the caller commits."""
    account = db.session.scalars(
        select(ConsoleUser).where(ConsoleUser.scim_user_id == user.id)
    ).first()
    if account is None:
        account = ConsoleUser(
            organization_id=user.organization_id,
            scim_user_id=user.id,
            password_hash=None,
            email=display_email(user),
            role=role,
        )
        db.session.add(account)
    account.email = display_email(user)
    account.role = role
    db.session.flush()
    return account
