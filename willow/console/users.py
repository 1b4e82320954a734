"""Console accounts: the people who sign in to the Willow admin console."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ..storage.extensions import db
from ..storage.models import ROLES
from ..storage.models import ConsoleUser
from ..storage.models import Organization
from .sessions import end_sessions_of

MIN_PASSWORD_LENGTH = 8
#: Told before a password is typed (the prompts of ``admin create`` and ``admin password``),
#: not only in the refusal after it was typed twice.
PASSWORD_RULE = f"at least {MIN_PASSWORD_LENGTH} characters"


class ConsoleUserError(ValueError):
    pass


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be a console password, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be {PASSWORD_RULE}"
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_console_user_by_email(email: str) -> ConsoleUser | None:
    """The password account with this address (SSO accounts are found by their user)."""
    return db.session.scalars(
        select(ConsoleUser).where(
            ConsoleUser.email == normalise_email(email), ConsoleUser.scim_user_id.is_(None)
        )
    ).first()


def create_console_user(
    organization: Organization, email: str, password: str, role: str = "admin"
) -> ConsoleUser:
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise ConsoleUserError("email must be an email address")
    if problem := password_problem(password):
        raise ConsoleUserError(problem)
    if role not in ROLES:
        raise ConsoleUserError(f"role must be one of {', '.join(ROLES)}")
    if get_console_user_by_email(email) is not None:
        raise ConsoleUserError(f"a console user with email {email!r} already exists")
    user = ConsoleUser(
        organization_id=organization.id,
        email=email,
        # Werkzeug's default is scrypt, a current memory-hard algorithm.
        password_hash=generate_password_hash(password),
        role=role,
    )
    db.session.add(user)
    db.session.flush()
    return user


def change_password(user: ConsoleUser, password: str) -> int:
    """Set a new password and end every session of the user (the caller commits).

    Whoever knew the old password may still be signed in somewhere; after a change only
    the new password lets anyone in. Returns the number of sessions ended.
    """
    if problem := password_problem(password):
        raise ConsoleUserError(problem)
    user.password_hash = generate_password_hash(password)
    return end_sessions_of(user.id)
