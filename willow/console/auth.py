"""Console sign-in: who is signed in, the ``login_required`` decorator, and password checks.

Sessions are server-side (``willow.console.sessions``): the cookie holds a random session
id, never the user's id, and every sign-in ends in ``sign_in(user)``. Sign-in answers one
message for an unknown email and a wrong password, so the form never tells an attacker
which addresses exist; repeated failures slow down the address making them
(``willow.console.sign_in_throttle``), never the account.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
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

from ..storage import models
from ..storage.extensions import db
from ..storage.models import ConsoleUser
from . import sessions as console_sessions
from . import sign_in_throttle
from .sessions import current_session
from .sessions import end_session
from .sessions import start_session
from .users import normalise_email

#: The message of a wrong email or password, whichever it was.
SIGN_IN_FAILED = "Wrong email or password."


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


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("willow-timing-equaliser")


@dataclass(frozen=True)
class SignInResult:
    """What a password sign-in came to: the user, or nothing, or a wait."""

    user: ConsoleUser | None = None
    #: Seconds the client must wait before trying again (``willow.console.sign_in_throttle``).
    retry_after: int = 0


def authenticate(email: str, password: str, address: str | None) -> SignInResult:
    """Check credentials sent from client ``address``, under its sign-in throttle.

    The caller commits (the throttle's counters changed). A throttled attempt is refused
    before the account is even looked up, so it costs no password hash whether the account
    exists or not; an attempt that goes ahead costs exactly one, for an unknown email too,
    so response time does not reveal which addresses exist.
    """
    email = normalise_email(email)
    attempt = sign_in_throttle.begin_attempt(address, email)
    if attempt.retry_after:
        sign_in_throttle.drop_unused(attempt)
        return SignInResult(retry_after=attempt.retry_after)
    # SSO accounts have no password: they are not found here whatever their address.
    user = db.session.scalars(
        select(ConsoleUser).where(ConsoleUser.email == email, ConsoleUser.scim_user_id.is_(None))
    ).first()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        sign_in_throttle.record_failure(attempt)
        return SignInResult()
    if not check_password_hash(user.password_hash, password):
        sign_in_throttle.record_failure(attempt)
        return SignInResult()
    sign_in_throttle.record_success(attempt)
    user.last_login_at = models.utcnow()
    return SignInResult(user=user)


def too_many_attempts(retry_after: int) -> str:
    """The form message of a throttled sign-in (the same whether the account exists)."""
    unit = "second" if retry_after == 1 else "seconds"
    return f"Too many sign-in attempts from your address; try again in {retry_after} {unit}."


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
