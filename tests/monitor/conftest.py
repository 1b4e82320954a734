"""Fixtures for the request log: reading what was logged, and SCIM-like test routes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Blueprint

from willow.scim.bearer import require_bearer_token
from willow.storage.extensions import db
from willow.storage.models import ScimRequestLog
from willow.storage.models import utcnow


@pytest.fixture
def logged(app):
    """All request-log rows so far, oldest first, as plain dicts."""

    def read(**where) -> list[dict]:
        # Rows are inserted by the log writer's thread just after each response.
        assert app.extensions["willow_request_log"].flush()
        with app.app_context():
            stmt = sa.select(ScimRequestLog.__table__).order_by(ScimRequestLog.id)
            for column, value in where.items():
                stmt = stmt.where(getattr(ScimRequestLog, column) == value)
            with db.engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(stmt)]

    return read


@pytest.fixture
def scim_test_bp():
    """A blueprint under /scim/v2/_test whose routes run like real SCIM views (bearer check
    before, session closed after), so capture sees what it sees in production. Add routes,
    then ``app.register_blueprint(scim_test_bp)`` before the first request."""
    bp = Blueprint("scim_test", __name__, url_prefix="/scim/v2/_test")
    bp.before_request(require_bearer_token)

    @bp.after_request
    def close(response):
        db.session.close()
        return response

    return bp


@pytest.fixture
def add_log(app, org):
    """Insert request-log rows directly (default: a 200 GET /Users in ``default``), each
    ``minutes_ago`` minutes old; returns their ids."""
    counter = iter(range(1_000_000))

    def add(*, minutes_ago: float = 0, **fields) -> int:
        n = next(counter)
        row = {
            "created_at": utcnow() - timedelta(minutes=minutes_ago),
            "organization_id": org.id,
            "request_id": f"req{n:06d}",
            "method": "GET",
            "path": "/scim/v2/Users",
            "resource_type": "User",
            "operation": "query",
            "status_code": 200,
            "duration_ms": 3.5,
            "token_name": "Okta SCIM Integration",
        }
        row.update(fields)
        with app.app_context(), db.engine.begin() as conn:
            return conn.execute(sa.insert(ScimRequestLog).values(row)).inserted_primary_key[0]

    return add
