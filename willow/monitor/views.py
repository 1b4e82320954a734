"""Monitor console pages: the SCIM request log, one entry, and its CSV export.

Views translate HTTP only: the filter form validates the query string, ``queries`` reads
(always scoped to the signed-in admin's organization), ``chart`` and ``export`` shape.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import stream_with_context
from flask import url_for
from werkzeug.exceptions import NotFound

from ..console.auth import current_console_user
from ..console.auth import login_required
from ..events.console import request_events
from ..guard.store import decisions_of_request
from ..guard.store import held_of_request
from ..numbers import database_id
from ..storage.models import utcnow
from ..webhooks.store import attempts_of_events
from . import export
from . import queries
from .chart import build_chart
from .clients import FAMILIES
from .curl import curl_command
from .forms import PRESET_LABELS
from .forms import LogFilterForm
from .forms import without_empty
from .operation import describe as describe_operation
from .present import describe_change
from .present import path_as_sent
from .present import pretty_json
from .present import status_class

bp = Blueprint("monitor", __name__, url_prefix="/monitor")

#: Longest a console page waits for queued log rows (a database far behind: show what is there).
FLUSH_TIMEOUT_S = 2.0
#: Cookie saying the admin has seen the "What is logged" explanation (then shown folded).
HELP_SEEN_COOKIE = "willow_log_help_seen"


@bp.app_template_filter("status_class")
def _status_class_filter(code: int) -> str:
    return status_class(code)


@bp.app_template_filter("operation")
def _operation_filter(row):
    return describe_operation(row)


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
    clean = without_empty(list(request.args.items(multi=True)))
    if clean is not None:
        # The form's blank fields (from=&to=&…), when submitted without JavaScript.
        return redirect(url_for("monitor.scim_logs") + _query(clean), 302)
    org_id = _org_id()
    form = LogFilterForm(formdata=request.args, tokens=queries.token_choices(org_id))
    if not form.validate():
        return render_template("monitor/scim_logs.html", form=form, presets=PRESET_LABELS), 400
    log_filter = queries.with_named_users(form.to_filter(org_id))
    page = queries.page(log_filter, before=form.cursor_before, after=form.cursor_after)
    is_first = form.cursor_before is None and form.cursor_after is None
    rv = make_response(
        render_template(
            "monitor/scim_logs.html",
            form=form,
            presets=PRESET_LABELS,
            page=page,
            total=queries.count_with_page(log_filter, page if is_first else None),
            count_limit=queries.COUNT_LIMIT,
            retries=queries.retry_counts(org_id, page.rows),
            chart=build_chart(queries.activity(log_filter, utcnow())),
            query_args=form.query_args(),
            help_seen=bool(request.cookies.get(HELP_SEEN_COOKIE)),
        )
    )
    rv.set_cookie(
        HELP_SEEN_COOKIE, "1", max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
        path=url_for("monitor.scim_logs"),
    )
    return rv


def _query(args: list[tuple[str, str]]) -> str:
    return "?" + urlencode(args) if args else ""


# A string converter, not <int:>: Werkzeug's reads any Unicode digits and any length, and an
# id beyond 64 bits failed inside the database. Willow's number rule decides instead.
@bp.get("/scim-logs/<entry_id>")
@login_required
def log_entry(entry_id: str):
    org_id = _org_id()
    number = database_id(entry_id)
    entry = queries.get_entry(org_id, number) if number is not None else None
    # The filter of the list the admin came from (carried on its links): previous/next
    # step through that list. A filter that does not validate is simply not applied.
    form = LogFilterForm(formdata=request.args, tokens=queries.token_choices(org_id))
    valid = form.validate()
    args = form.query_args() if valid else {}
    if entry is None:
        return _entry_not_found(entry_id, args)
    log_filter = (
        queries.with_named_users(form.to_filter(org_id)) if valid else queries.LogFilter(org_id)
    )
    newer, older = queries.neighbours(log_filter, entry)
    caused = request_events(org_id, entry.request_id)
    return render_template(
        "monitor/log_detail.html",
        entry=entry,
        related=queries.related(entry),
        bulk_operations=queries.bulk_operations(entry),
        bulk_parent=queries.bulk_parent(entry),
        changes=[describe_change(c, entry.resource_label) for c in entry.changes or []],
        operation=describe_operation(entry),
        client_families=FAMILIES,
        curl=curl_command(
            # The address the admin reached this server at, unless a public one is set.
            base_url=current_app.config.get("WILLOW_PUBLIC_URL") or request.host_url,
            method=entry.method,
            path=entry.path,
            query_string=entry.query_string,
            request_headers=entry.request_headers,
            request_body=entry.request_body,
        ),
        request_body=pretty_json(entry.request_body),
        response_body=pretty_json(entry.response_body),
        newer=newer,
        older=older,
        path_sent=path_as_sent(entry.notes),
        list_args=args,
        request_events=caused,
        event_deliveries=attempts_of_events(org_id, [row.event_id for row in caused["rows"]]),
        guard_held=held_of_request(org_id, entry.request_id) if entry.request_id else None,
        guard_decisions=(
            decisions_of_request(org_id, entry.request_id) if entry.request_id else []
        ),
    )


def _entry_not_found(entry_id: str, args: dict[str, str]):
    days = current_app.config["WILLOW_LOG_RETENTION_DAYS"]
    kept = f"Entries are kept for {days} days, so it may have been pruned. " if days > 0 else ""
    shown = entry_id if len(entry_id) <= 24 else entry_id[:21] + "..."
    error = NotFound(
        f"There is no SCIM log entry {shown} in your organization. {kept}"
        "Links to entries of another organization are not shown either."
    )
    page = render_template(
        "errors/error.html",
        error=error,
        back_url=url_for("monitor.scim_logs", **args),
        back_label="Back to the SCIM Logs",
    )
    return page, 404


@bp.get("/scim-logs/export.csv")
@login_required
def export_csv():
    org_id = _org_id()
    form = LogFilterForm(formdata=request.args, tokens=queries.token_choices(org_id))
    if not form.validate():
        errors = [f"{form[name].label.text}: {' '.join(e)}" for name, e in form.errors.items()]
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    log_filter = queries.with_named_users(form.to_filter(org_id))
    name = export.filename(log_filter.start, log_filter.end, utcnow())
    rows = queries.export_rows(log_filter)
    rv = Response(stream_with_context(export.iter_csv(rows)), mimetype="text/csv")
    rv.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Proxies must not buffer or keep a copy of an export that may hold full payloads.
    rv.headers["Cache-Control"] = "no-store"
    rv.headers["X-Accel-Buffering"] = "no"
    return rv
