"""Server-side console sessions: start, find, end, and the one-time API token they carry.

The browser's session cookie (Flask's signed cookie) holds a random session id next to
the CSRF token and flash messages, which are not secrets. The database holds the id's
SHA-256 digest, whose user it is, when it was last used and when it ends at the latest.
Who is signed in is therefore decided server-side: ending a session (sign-out, an admin,
a password change) takes effect at once on every app server, and a session that has
been idle for ``WILLOW_SESSION_IDLE_MINUTES`` or is older than ``WILLOW_SESSION_MAX_HOURS``
is over.

Every way of signing in (password, SSO) ends with ``start_session(user)``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from datetime import datetime
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from flask import current_app
from flask import g
from flask import request
from flask import session as cookie
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from ..storage import models
from ..storage.extensions import db
from ..storage.models import ConsoleSession
from ..storage.models import ConsoleUser

log = logging.getLogger(__name__)

#: The cookie key holding the raw session id.
SESSION_ID_KEY = "sid"
#: last_seen_at is refreshed at most this often, so reading pages does not write each time.
TOUCH_RESOLUTION = timedelta(seconds=60)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def idle_timeout() -> timedelta:
    return timedelta(minutes=current_app.config["WILLOW_SESSION_IDLE_MINUTES"])


def max_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["WILLOW_SESSION_MAX_HOURS"])


def is_live(row: ConsoleSession, now: datetime) -> bool:
    """Not past its absolute end, and used within the idle timeout."""
    return row.expires_at > now and now - row.last_seen_at < idle_timeout()


def start_session(user: ConsoleUser) -> ConsoleSession:
    """Sign ``user`` in with a fresh session, and commit.

    Nothing from the cookie before sign-in survives (no session fixation): the browser
    gets a new session id, and the session its cookie held before, whoever's it was, is
    deleted, so an id planted or seen before sign-in is worth nothing after it. The
    user's sessions in other browsers go on: an admin may work in several, and signing in
    again proves nothing against them (a password change or Admin → Sessions ends them).
    Expired sessions of everyone are deleted here, so the table does not grow with
    abandoned ones.
    """
    now = models.utcnow()
    previous = cookie.get(SESSION_ID_KEY)
    if isinstance(previous, str) and previous:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.digest == _digest(previous)))
    db.session.execute(
        delete(ConsoleSession).where(
            (ConsoleSession.expires_at <= now)
            | (ConsoleSession.last_seen_at <= now - idle_timeout())
        )
    )
    raw = secrets.token_urlsafe(32)
    row = ConsoleSession(
        console_user_id=user.id,
        digest=_digest(raw),
        created_at=now,
        last_seen_at=now,
        expires_at=now + max_lifetime(),
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:512] or None,
    )
    db.session.add(row)
    db.session.commit()
    # The old session's bookkeeping is moot (expired ones were deleted above), and must
    # not run: SQLite may have given the new row the old row's id.
    g.pop("console_session_expired", None)
    g.pop("console_session_touch", None)
    cookie.clear()
    cookie[SESSION_ID_KEY] = raw
    g.console_session = row
    return row


def current_session() -> ConsoleSession | None:
    """The request's live session (with its user loaded), or None; looked up once."""
    if "console_session" in g:
        return g.console_session
    raw = cookie.get(SESSION_ID_KEY)
    row = None
    if isinstance(raw, str) and raw:
        row = db.session.scalars(
            select(ConsoleSession)
            .options(joinedload(ConsoleSession.user))
            .where(ConsoleSession.digest == _digest(raw))
        ).first()
        now = models.utcnow()
        if row is not None and not is_live(row, now):
            g.console_session_expired = row.id
            row = None
        if row is None:
            cookie.pop(SESSION_ID_KEY, None)
        elif now - row.last_seen_at >= TOUCH_RESOLUTION:
            g.console_session_touch = row.id
    g.console_session = row
    return row


def end_session() -> None:
    """End the request's session (sign-out) and commit; the cookie is emptied."""
    row = current_session()
    if row is not None:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.id == row.id))
        db.session.commit()
    cookie.clear()
    g.console_session = None


def end_sessions_of(user_id: int, *, keep: ConsoleSession | None = None) -> int:
    """End every session of a console user (but ``keep``); the caller commits."""
    stmt = delete(ConsoleSession).where(ConsoleSession.console_user_id == user_id)
    if keep is not None:
        stmt = stmt.where(ConsoleSession.id != keep.id)
    return db.session.execute(stmt).rowcount


def end_sessions(rows: list[ConsoleSession]) -> None:
    """End the given sessions (the caller commits)."""
    ids = [row.id for row in rows]
    if ids:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.id.in_(ids)))


def organization_sessions(organization_id: int) -> list[ConsoleSession]:
    """Live sessions of the organization's console users, most recently used first."""
    now = models.utcnow()
    rows = db.session.scalars(
        select(ConsoleSession)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.console_user_id)
        .options(joinedload(ConsoleSession.user))
        .where(ConsoleUser.organization_id == organization_id, ConsoleSession.expires_at > now)
        .order_by(ConsoleSession.last_seen_at.desc(), ConsoleSession.id.desc())
    ).all()
    return [row for row in rows if is_live(row, now)]


def find_organization_session(organization_id: int, session_id: int) -> ConsoleSession | None:
    """A session of one of the organization's console users; any other id is not found."""
    return db.session.scalars(
        select(ConsoleSession)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.console_user_id)
        .where(ConsoleSession.id == session_id, ConsoleUser.organization_id == organization_id)
    ).first()


# -- the one-time API token --------------------------------------------------------------
#
# A token generated in the console is shown on the next page, once. Between the two
# requests it waits in the session row, encrypted (AES-GCM) with a key derived from the raw
# session id, which only the browser's cookie holds: neither the cookie alone nor the
# database alone reveals it, and showing it clears it.


def _one_time_key(raw_session_id: str) -> bytes:
    return hmac.new(raw_session_id.encode("utf-8"), b"willow one-time API token", "sha256").digest()


def stash_one_time_token(token_id: int, plaintext: str) -> None:
    """Keep a just-generated token for its one display (the caller commits)."""
    row = current_session()
    if row is None:
        raise RuntimeError("a one-time token needs a signed-in console session")
    nonce = os.urandom(12)
    sealed = AESGCM(_one_time_key(cookie[SESSION_ID_KEY])).encrypt(
        nonce, plaintext.encode("utf-8"), str(token_id).encode("ascii")
    )
    row.pending_token_id = token_id
    row.pending_token_secret = nonce + sealed


def take_one_time_token(token_id: int) -> str | None:
    """The waiting token ``token_id`` of this session, removed from storage before it is
    returned; None when there is none (already shown, or another session's)."""
    row = current_session()
    raw = cookie.get(SESSION_ID_KEY)
    if row is None or not isinstance(raw, str):
        return None
    # A transaction of its own that writes first: two tabs cannot both take it, and on
    # SQLite the write lock is taken before anything is read.
    with db.engine.begin() as conn:
        claimed = conn.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == row.id, ConsoleSession.pending_token_id == token_id)
            .values(pending_token_id=None)
        ).rowcount
        if not claimed:
            return None
        blob = conn.execute(
            select(ConsoleSession.pending_token_secret).where(ConsoleSession.id == row.id)
        ).scalar_one()
        conn.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == row.id)
            .values(pending_token_secret=None)
        )
    if not blob or len(blob) < 13:
        return None
    try:
        plain = AESGCM(_one_time_key(raw)).decrypt(
            blob[:12], blob[12:], str(token_id).encode("ascii")
        )
    except InvalidTag:
        return None
    return plain.decode("utf-8")


def _after_request_bookkeeping(exc: BaseException | None = None) -> None:  # noqa: ARG001
    """Refresh last_seen_at, or delete a session found expired, after the request.

    The request's own transaction is closed first: the write then runs in a short
    transaction of its own and never waits for a lock the request itself holds.
    """
    touch = g.pop("console_session_touch", None)
    expired = g.pop("console_session_expired", None)
    if touch is None and expired is None:
        return
    db.session.close()
    try:
        with db.engine.begin() as conn:
            if touch is not None:
                conn.execute(
                    update(ConsoleSession)
                    .where(ConsoleSession.id == touch)
                    .values(last_seen_at=models.utcnow())
                )
            if expired is not None:
                conn.execute(delete(ConsoleSession).where(ConsoleSession.id == expired))
    except SQLAlchemyError:
        # Bookkeeping only: the next request tries again.
        log.warning("could not update console session bookkeeping", exc_info=True)


def init_app(app: Flask) -> None:
    app.teardown_request(_after_request_bookkeeping)
