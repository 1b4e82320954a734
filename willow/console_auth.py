"""Console sign-in: who is signed in, the ``login_required`` decorator, and the lockout rule.

Sessions are server-side (``willow.console_sessions``): the cookie holds a random session
id, never the user's id, and every sign-in ends in ``sign_in(user)``. Sign-in answers one
generic message for an unknown email, a wrong password and a locked account, so the form
never tells an attacker which addresses exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask import abort
from flask import g
from flask import has_request_context
from flask import redirect
from flask import request
from flask import url_for
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from . import console_sessions
from . import models
from .console_sessions import current_session
from .console_sessions import end_session
from .console_sessions import start_session
from .console_users import normalise_email
from .extensions import db
from .models import ConsoleUser

#: Failed sign-ins allowed for one account within FAILURE_WINDOW before it is locked.
MAX_FAILED_ATTEMPTS = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT_PERIOD = timedelta(minutes=15)
#: The only message a failed sign-in ever shows.
SIGN_IN_FAILED = "Invalid email or password, or too many attempts. Try again later."


def current_console_user() -> ConsoleUser | None:
    """The signed-in console user, loaded once per request and kept on ``g.console_user``."""
    if "console_user" in g:
        return g.console_user
    row = current_session()
    user = row.user if row is not None else None
    g.console_user = user
    return user


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to the sign-in page, which brings them back afterwards."""

    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if current_console_user() is None:
            target = None
            # Only a GET can be replayed by the redirect after sign-in.
            if request.method == "GET":
                target = request.full_path.rstrip("?")
            return redirect(url_for("admin.login", next=target))
        return view(**kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like ``login_required``, and only console users with the ``admin`` role get in:
    members and viewers may read the directory and the logs, but not manage API tokens
    or the roles that groups grant."""

    @login_required
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if current_console_user().role != "admin":
            abort(403, description="Only console admins can do this.")
        return view(**kwargs)

    return wrapped


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect).

    Browsers treat ``//host`` and ``/\\host`` as other sites, and strip tabs and newlines
    from URLs, so all of those are refused along with absolute URLs.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\\\t\r\n") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def is_locked(user: ConsoleUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def record_failure(user: ConsoleUser, now: datetime) -> None:
    """Count a failed sign-in in the current window; the MAX_FAILED_ATTEMPTS-th locks the
    account for LOCKOUT_PERIOD. Attempts during the lock do not extend it, so an attacker
    cannot keep an admin out for longer than one period per burst."""
    start = user.failed_login_window_start
    if start is None or now - start >= FAILURE_WINDOW:
        user.failed_login_window_start = now
        user.failed_login_count = 0
    user.failed_login_count = (user.failed_login_count or 0) + 1
    if user.failed_login_count >= MAX_FAILED_ATTEMPTS:
        user.locked_until = now + LOCKOUT_PERIOD


def record_success(user: ConsoleUser, now: datetime) -> None:
    user.failed_login_count = 0
    user.failed_login_window_start = None
    user.locked_until = None
    user.last_login_at = now


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("willow-timing-equaliser")


def authenticate(email: str, password: str) -> ConsoleUser | None:
    """The console user these credentials belong to, or None.

    Updates the lockout counters on the user (the caller commits). The row is locked for
    the check so that concurrent guesses on PostgreSQL cannot lose a failure count.
    An unknown email still costs one password hash, so response time does not reveal
    which addresses exist.
    """
    now = models.utcnow()
    # SSO accounts have no password: they are not found here whatever their address.
    user = db.session.scalars(
        select(ConsoleUser)
        .where(ConsoleUser.email == normalise_email(email), ConsoleUser.scim_user_id.is_(None))
        .with_for_update()
    ).first()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if is_locked(user, now):
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        record_failure(user, now)
        return None
    record_success(user, now)
    return user


def sign_in(user: ConsoleUser) -> None:
    """Start a fresh server-side session for ``user`` (committed): nothing from before
    sign-in survives it. Password and SSO sign-in both end here."""
    start_session(user)
    g.console_user = user


def sign_out() -> None:
    end_session()
    g.console_user = None


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie ``Secure`` whenever the request came over https.

    ``SESSION_COOKIE_SECURE`` covers deployments with an https public URL; this covers the
    rest (e.g. https terminated by a trusted proxy), while plain-http development still works.
    """

    def open_session(self, app: Flask, request):
        # /scim is bearer-only: no console cookie is read or written there, which also
        # spares every SCIM request the cookie signer.
        if request.path.startswith("/scim/"):
            return self.null_session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        if super().get_cookie_secure(app):
            return True
        return has_request_context() and request.is_secure


def init_app(app: Flask) -> None:
    console_sessions.init_app(app)
    public_url = app.config.get("WILLOW_PUBLIC_URL") or ""
    if public_url.lower().startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = ConsoleSessionInterface()

    @app.context_processor
    def inject_console_user() -> dict[str, Any]:
        # Only what this request already loaded: error pages must not query the database.
        return {"console_user": g.get("console_user")}
