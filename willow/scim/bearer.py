"""The bearer check of every /scim request (RFC 6750): which API token, which
organization, and when the token was last used."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import g
from flask import request
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..console.tokens import LAST_USED_RESOLUTION
from ..console.tokens import SCIM_SCOPE
from ..console.tokens import hash_token
from ..server import rate_limit
from ..storage import models
from ..storage.extensions import db
from ..storage.faults import is_unavailable
from ..storage.models import ApiToken
from ..storage.models import token_status
from ..storage.models import utcnow
from ..storage.prepared import Prepared
from . import audit
from . import refusal
from . import transaction
from .protocol.errors import Forbidden
from .protocol.errors import Unauthorized


def bearer_from_header(header: str | None) -> str | None:
    """The token from ``Authorization: Bearer <token>``; the scheme is case-insensitive and
    surrounding whitespace (a common copy-paste slip) is ignored."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


#: One statement, compiled once and run on the DBAPI cursor: the bearer check runs on
#: every request, and Core's execute alone cost more than SQLite's read of the row.
_TOKEN_BY_DIGEST = Prepared(
    select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.organization_id,
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
    ).where(ApiToken.digest == bindparam("digest"))
)


def read_token(conn: Connection, plaintext: str) -> SimpleNamespace | None:
    """The API token row whose digest matches ``plaintext``, read on ``conn``, or None."""
    row = _TOKEN_BY_DIGEST.first(conn, {"digest": hash_token(plaintext)})
    return SimpleNamespace(**row) if row is not None else None


def require_bearer_token() -> None:
    """``before_request`` of the scim blueprint: authenticate, then put the token and its
    organization on the request's record. The token is recorded also when it is refused,
    so the request log can say which revoked or expired token an IdP still uses; why a
    request was refused goes on the record too, in the admin's words (``refusal``), while
    the IdP's answer says no more than before.

    The token row is read on every request, on the request's own connection: a revoked
    or expired token is refused from the next request on, on every app server."""
    header = request.headers.get("Authorization")
    plaintext = bearer_from_header(header)
    token = None
    if plaintext is not None:
        token = read_token(transaction.reader(), plaintext)
    now = models.utcnow()  # through the module: the tests' clock replaces it
    status = None
    if token is not None:
        status = token_status(token.revoked_at, token.expires_at, now)
        record = audit.current()
        record.token_id, record.token_name = token.id, token.name
        record.organization_id = token.organization_id
    # Failed authentications per address, and the per-token rate: 429 past a limit.
    rate_limit.enforce(token if status == "active" else None)
    if plaintext is None:
        audit.current().refusal = refusal.missing_or_not_bearer(header)
        raise Unauthorized()
    if token is None:
        audit.current().refusal = refusal.unknown_token(header, plaintext)
        raise Unauthorized("The API token is not valid.", invalid_token=True)
    if status != "active":
        audit.current().refusal = refusal.inactive_token(token, status)
        raise Unauthorized(f"The API token is {status}.", invalid_token=True)
    if SCIM_SCOPE not in token.scopes.split():
        raise Forbidden()
    g.organization_id = token.organization_id
    remember_token_use(token, now)


def remember_token_use(token: Any, now: datetime) -> None:
    """Have ``record_token_use`` store this use, when the token's "last used" is older
    than ``LAST_USED_RESOLUTION`` (most requests write nothing)."""
    last = token.last_used_at
    if last is None or now - last >= LAST_USED_RESOLUTION:
        g.record_token_use = (
            token.id,
            request.remote_addr,
            (request.user_agent.string or "")[:512] or None,
        )


def record_token_use() -> None:
    """Store when, from where and by which client the request's token was used.

    Called after the request's own transaction has ended, in a short transaction of its
    own, so that a rolled-back request still counts as a use and no lock is held twice.
    """
    pending = g.pop("record_token_use", None)
    if pending is None:
        return
    token_id, ip, agent = pending
    try:
        with db.engine.begin() as conn:
            conn.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id)
                .values(last_used_at=utcnow(), last_used_ip=ip, last_used_user_agent=agent)
            )
    except SQLAlchemyError as exc:
        # The database went away after the request's own work, whose answer stands: a
        # use not recorded now is recorded by the token's next request.
        if not is_unavailable(exc):
            raise
