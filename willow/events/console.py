"""The console's view of provisioning events: an event's page (its envelope, and a link
back to the SCIM request log entry that caused it), and the list of events a request
caused, shown on that entry's page (``templates/monitor/_request_events.html``)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import render_template
from flask import url_for
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ..console.auth import current_console_user
from ..console.auth import login_required
from ..storage.extensions import db
from ..storage.models import ScimRequestLog
from ..webhooks.store import attempts_of_events
from . import store

bp = Blueprint("events_console", __name__, url_prefix="/monitor/events")

#: How far apart a request's log entry and its events can be in time (the entry is
#: stamped when the request arrived, the events when it committed): the entry is looked
#: up in this window, on the log's (organization, time) index, not by a scan.
_LOG_WINDOW = timedelta(hours=1)


def request_events(organization_id: int, request_id: str | None) -> dict[str, Any]:
    """The events a request caused, for its log entry's page: rows and total."""
    if not request_id:
        return {"rows": [], "total": 0}
    rows, total = store.events_for_request(
        db.session.connection(), organization_id, request_id
    )
    return {"rows": rows, "total": total}


def log_entry_id(organization_id: int, request_id: str | None, occurred_at) -> int | None:
    """The id of the request log entry with ``request_id``, near ``occurred_at``."""
    if not request_id:
        return None
    return db.session.scalar(
        select(ScimRequestLog.id).where(
            ScimRequestLog.organization_id == organization_id,
            ScimRequestLog.created_at >= occurred_at - _LOG_WINDOW,
            ScimRequestLog.created_at <= occurred_at + _LOG_WINDOW,
            ScimRequestLog.request_id == request_id,
        )
    )


@bp.get("/<event_id>")
@login_required
def event_page(event_id: str):
    org_id = current_console_user().organization_id
    event = store.get_event(db.session.connection(), org_id, event_id[:40])
    if event is None:
        error = NotFound(
            f"There is no event {event_id} in your organization. Events are kept for the "
            "days WILLOW_EVENT_RETENTION_DAYS says, so it may have been pruned."
        )
        page = render_template(
            "errors/error.html",
            error=error,
            back_url=url_for("monitor.scim_logs"),
            back_label="Back to the SCIM Logs",
        )
        return page, 404
    return render_template(
        "monitor/event.html",
        event=event,
        envelope_text=json.dumps(event["envelope"], indent=2, ensure_ascii=False),
        log_entry_id=log_entry_id(org_id, event["request_id"], event["occurred_at"]),
        event_deliveries=attempts_of_events(org_id, [event["event_id"]]),
    )
