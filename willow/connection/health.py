"""Each token's connection health, from the request log: "is Okta still syncing?".

One statement answers for all of an organization's tokens: the day's counts grouped by
token, the last success and the last error as correlated subqueries; each reads a range
of the partial index ``ix_scim_logs_token_time`` (token, time, status, count), so the
cost follows the last day's requests of each token, not the size of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..storage.extensions import db
from ..storage.models import ApiToken
from ..storage.models import ScimRequestLog

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class TokenHealth:
    last_success_at: datetime | None
    requests: int
    errors: int
    last_error_id: int | None = None
    last_error_at: datetime | None = None
    last_error_status: int | None = None
    last_error_reason: str | None = None


NO_TRAFFIC = TokenHealth(None, 0, 0)


def token_health(organization_id: int, now: datetime) -> dict[int, TokenHealth]:
    """Token id → its health over the ``WINDOW`` before ``now``; errors are 4xx and 5xx
    answers, a counted row (many refused requests in one row) weighing its count."""
    log = ScimRequestLog
    since = now - WINDOW
    of_token = log.token_id == ApiToken.id
    weight = func.coalesce(log.repeat_count, 1)

    last_success = (
        select(log.created_at)
        .where(of_token, log.status_code < 400)
        .order_by(log.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    # The day's requests and errors in one pass over each token's range of the index.
    day = (
        select(
            log.token_id,
            func.sum(weight).label("requests"),
            func.sum(case((log.status_code >= 400, weight), else_=0)).label("errors"),
        )
        .where(
            log.token_id.in_(
                select(ApiToken.id).where(ApiToken.organization_id == organization_id)
            ),
            log.created_at >= since,
        )
        .group_by(log.token_id)
        .subquery("day")
    )
    last_error_id = (
        select(log.id)
        .where(of_token, log.status_code >= 400)
        .order_by(log.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    error = aliased(ScimRequestLog, name="last_error")
    stmt = (
        select(
            ApiToken.id,
            last_success,
            func.coalesce(day.c.requests, 0),
            func.coalesce(day.c.errors, 0),
            error.id,
            error.created_at,
            error.status_code,
            error.error_detail,
        )
        .outerjoin(day, day.c.token_id == ApiToken.id)
        .outerjoin(error, error.id == last_error_id)
        .where(ApiToken.organization_id == organization_id)
    )
    return {
        token_id: TokenHealth(
            last_success_at=success_at,
            requests=int(count),
            errors=int(failed),
            last_error_id=error_id,
            last_error_at=error_at,
            last_error_status=error_status,
            last_error_reason=reason,
        )
        for (
            token_id,
            success_at,
            count,
            failed,
            error_id,
            error_at,
            error_status,
            reason,
        ) in db.session.execute(stmt)
    }
