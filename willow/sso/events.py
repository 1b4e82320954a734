"""The record of SSO sign-ins: every success and refusal, with its reason, for admins."""

from __future__ import annotations

from flask import has_request_context
from flask import request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from ..storage.extensions import db
from .models import SsoSignInEvent

#: Rows of the record per page of the Single sign-on page.
PER_PAGE = 50
#: Pages past this one are not asked for: the OFFSET of a page number from the URL
#: would overflow the database's integers.
MAX_PAGE = 100_000


def record_event(
    organization_id: int | None,
    outcome: str,
    reason: str,
    *,
    detail: str | None = None,
    test: bool = False,
    claims: dict | None = None,
    user=None,
    role: str | None = None,
) -> SsoSignInEvent:
    """Add one record (the caller commits). ``claims`` gives the subject and email the
    provider stated; ``user`` the provisioned user they matched."""
    claims = claims or {}
    subject = claims.get("sub")
    email = claims.get("email")
    event = SsoSignInEvent(
        organization_id=organization_id,
        outcome=outcome,
        reason=reason,
        detail=detail[:512] if detail else None,
        test=test,
        subject=subject[:256] if isinstance(subject, str) else None,
        email=email[:320] if isinstance(email, str) else None,
        scim_user_id=user.id if user is not None else None,
        user_name=user.user_name[:256] if user is not None else None,
        role=role,
        client_ip=(request.remote_addr or "")[:64] or None if has_request_context() else None,
    )
    db.session.add(event)
    return event


def events_page(organization_id: int, page: int, per_page: int = PER_PAGE) -> Pagination:
    """One page of the organization's record, newest first (a page past the end is
    empty, never an error)."""
    return db.paginate(
        select(SsoSignInEvent)
        .where(SsoSignInEvent.organization_id == organization_id)
        .order_by(SsoSignInEvent.created_at.desc(), SsoSignInEvent.id.desc()),
        page=min(max(page, 1), MAX_PAGE),
        per_page=per_page,
        error_out=False,
    )
