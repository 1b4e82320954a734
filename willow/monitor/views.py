"""Monitor console pages: the SCIM request log, one entry, and its CSV export.

Views translate HTTP only: the filter form validates the query string, ``queries`` reads
(always scoped to the signed-in admin's organization), ``chart`` and ``export`` shape.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import stream_with_context

from ..console_auth import current_console_user
from ..console_auth import login_required
from ..models import utcnow
from . import export
from . import queries
from .chart import build_chart
from .forms import PRESET_LABELS
from .forms import LogFilterForm
from .present import describe_change
from .present import pretty_json
from .present import status_class

bp = Blueprint("monitor", __name__, url_prefix="/monitor")

#: Longest a console page waits for queued log rows (a database far behind: show what is there).
FLUSH_TIMEOUT_S = 2.0


@bp.app_template_filter("status_class")
def _status_class_filter(code: int) -> str:
    return status_class(code)


@bp.before_request
def _see_latest_requests() -> None:
    # Log rows are inserted by a background writer just after each response: wait for the
    # ones this server has answered, so that the page shows the request just made.
    current_app.extensions["willow_request_log"].flush(timeout=FLUSH_TIMEOUT_S)


def _org_id() -> int:
    return current_console_user().organization_id


@bp.get("/scim-logs")
@login_required
def scim_logs():
    form = LogFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("monitor/scim_logs.html", form=form, presets=PRESET_LABELS), 400
    org_id = _org_id()
    log_filter = form.to_filter(org_id)
    page = queries.page(log_filter, before=form.cursor_before, after=form.cursor_after)
    is_first = form.cursor_before is None and form.cursor_after is None
    return render_template(
        "monitor/scim_logs.html",
        form=form,
        presets=PRESET_LABELS,
        page=page,
        total=queries.count_with_page(log_filter, page if is_first else None),
        retries=queries.retry_counts(org_id, page.rows),
        chart=build_chart(queries.activity(log_filter, utcnow())),
        query_args=form.query_args(),
    )


@bp.get("/scim-logs/<int:entry_id>")
@login_required
def log_entry(entry_id: int):
    entry = queries.get_entry(_org_id(), entry_id)
    if entry is None:
        abort(404)
    return render_template(
        "monitor/log_detail.html",
        entry=entry,
        related=queries.related(entry),
        changes=[describe_change(c, entry.resource_label) for c in entry.changes or []],
        request_body=pretty_json(entry.request_body),
        response_body=pretty_json(entry.response_body),
    )


@bp.get("/scim-logs/export.csv")
@login_required
def export_csv():
    form = LogFilterForm(formdata=request.args)
    if not form.validate():
        errors = [f"{form[name].label.text}: {' '.join(e)}" for name, e in form.errors.items()]
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    log_filter = form.to_filter(_org_id())
    name = export.filename(log_filter.start, log_filter.end, utcnow())
    rows = queries.export_rows(log_filter)
    rv = Response(stream_with_context(export.iter_csv(rows)), mimetype="text/csv")
    rv.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Proxies must not buffer or keep a copy of an export that may hold full payloads.
    rv.headers["Cache-Control"] = "no-store"
    rv.headers["X-Accel-Buffering"] = "no"
    return rv
