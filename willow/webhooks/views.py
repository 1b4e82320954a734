"""Admin → Webhooks (admins only): endpoints, their secrets (shown once), deliveries,
Resend and "Send test event"; and an event's page, linked to its request log entry.

A Resend or a test event is sent while the admin waits (at most the delivery timeout)
and recorded as an attempt of its own; it is outside the endpoint's ordered stream, so
it never holds or reorders the worker's deliveries.
"""

from __future__ import annotations

import json
import secrets as _secrets
import time
from datetime import timedelta

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select

from ..admin.forms import ConfirmForm
from ..console.auth import admin_required
from ..console.auth import current_console_user
from ..console.sessions import stash_one_time_token
from ..console.sessions import take_one_time_token
from ..storage.extensions import db
from ..storage.models import Event
from ..storage.models import Organization
from ..storage.models import utcnow
from . import signing
from . import store
from .addresses import endpoint_url_problem
from .addresses import guarded_session
from .addresses import policy_from_config
from .forms import DeliveryFilterForm
from .forms import EndpointForm
from .schedule import RETRY_DELAYS_S
from .schedule import Outcome
from .schedule import outcome
from .subscriptions import TEST_EVENT_TYPE
from .transport import post

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _org_id() -> int:
    return current_console_user().organization_id


def _endpoint_or_404(endpoint_id: int) -> store.WebhookEndpoint:
    endpoint = store.get_endpoint(_org_id(), endpoint_id)
    if endpoint is None:
        abort(404, description=f"There is no webhook endpoint {endpoint_id} in your organization.")
    return endpoint


def _secret_slot(endpoint_id: int) -> int:
    # The console session's one-time slot holds API tokens by their (positive) id; an
    # endpoint's secret waits there under the negated endpoint id.
    return -endpoint_id


def _list_page(form: EndpointForm, status: int = 200):
    return (
        render_template(
            "webhooks/endpoints.html",
            endpoints=store.list_endpoints(_org_id()),
            form=form,
            schedule=RETRY_DELAYS_S,
        ),
        status,
    )


@bp.get("/")
@admin_required
def endpoints():
    return _list_page(EndpointForm())


@bp.post("/")
@admin_required
def create_endpoint():
    form = EndpointForm()
    if not form.validate():
        return _list_page(form, 400)
    user = current_console_user()
    organization_id, email = user.organization_id, user.email
    policy = policy_from_config(current_app.config)
    # The host is resolved outside any transaction: on SQLite a console POST's
    # transaction holds the write lock, which SCIM writes must not wait on for DNS.
    db.session.commit()
    problem = endpoint_url_problem(policy, form.url.data)
    try:
        endpoint, secret = store.create_endpoint(
            organization_id,
            form.url.data,
            event_types=form.event_types.data or "",
            description=form.description.data or "",
            created_by=email,
            url_problem=lambda _url: problem,
        )
    except store.EndpointError as exc:
        db.session.rollback()
        form.url.errors = [*form.url.errors, str(exc)]
        return _list_page(form, 400)
    stash_one_time_token(_secret_slot(endpoint.id), secret)
    db.session.commit()
    return redirect(url_for("webhooks.secret", endpoint_id=endpoint.id), 303)


@bp.get("/<int:endpoint_id>/secret")
@admin_required
def secret(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    plaintext = take_one_time_token(_secret_slot(endpoint.id))
    rv = make_response(
        render_template("webhooks/secret.html", endpoint=endpoint, plaintext=plaintext)
    )
    # Neither the browser's history nor any cache may keep a copy of the secret.
    rv.headers["Cache-Control"] = "no-store"
    return rv


@bp.get("/<int:endpoint_id>")
@admin_required
def endpoint(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    filters = DeliveryFilterForm(formdata=request.args)
    if not filters.validate():
        filters = DeliveryFilterForm(formdata=None)
    attempts = store.recent_attempts(
        endpoint, failed_only=bool(filters.failed.data), event_type=filters.type.data or None
    )
    pending = store.pending_count(endpoint)
    # The admin has now seen it: the banner on every admin page goes.
    store.acknowledge(endpoint)
    return render_template(
        "webhooks/endpoint.html",
        endpoint=endpoint,
        attempts=attempts,
        filters=filters,
        pending=pending,
        confirm=ConfirmForm(),
        now=utcnow(),
    )


@bp.post("/<int:endpoint_id>/rotate")
@admin_required
def rotate(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate():
        abort(400)
    hours = current_app.config["WILLOW_WEBHOOK_SECRET_OVERLAP_HOURS"]
    secret = store.rotate_secret(endpoint, timedelta(hours=hours))
    stash_one_time_token(_secret_slot(endpoint.id), secret)
    db.session.commit()
    flash(
        f"New signing secret. For {hours} hours deliveries carry a signature with the old "
        "secret too, so the consumer can switch without missing a delivery.",
        "success",
    )
    return redirect(url_for("webhooks.secret", endpoint_id=endpoint.id), 303)


@bp.post("/<int:endpoint_id>/disable")
@admin_required
def disable(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate():
        abort(400)
    store.disable(endpoint, f"Disabled by {current_console_user().email}.")
    db.session.commit()
    flash("Endpoint disabled. Its events wait; enable it to deliver them, in order.", "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id), 303)


@bp.post("/<int:endpoint_id>/enable")
@admin_required
def enable(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate():
        abort(400)
    store.enable(endpoint)
    db.session.commit()
    _wake_worker()
    flash("Endpoint enabled: the events it missed are delivered now, in order.", "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id), 303)


@bp.post("/<int:endpoint_id>/delete")
@admin_required
def delete(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate():
        abort(400)
    url = endpoint.url
    store.delete_endpoint(endpoint)
    db.session.commit()
    flash(f"Endpoint {url} deleted; it receives no more events.", "success")
    return redirect(url_for("webhooks.endpoints"), 303)


@bp.post("/<int:endpoint_id>/test")
@admin_required
def send_test(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate():
        abort(400)
    org = db.session.get(Organization, endpoint.organization_id)
    event_id = "evt_" + _secrets.token_hex(16)
    body = json.dumps(
        {
            "id": event_id,
            "sequence": None,
            "type": TEST_EVENT_TYPE,
            "occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "organization": org.slug,
            "request_id": None,
            "actor": current_console_user().email,
            "data": {"message": "A test event from Willow. It is not part of the event stream."},
        },
        separators=(",", ":"),
    )
    attempt = _send_now(endpoint, event_id, TEST_EVENT_TYPE, None, body, "test")
    _flash_attempt("Test event", attempt)
    db.session.commit()
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id), 303)


@bp.post("/<int:endpoint_id>/attempts/<int:attempt_id>/resend")
@admin_required
def resend(endpoint_id: int, attempt_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate():
        abort(400)
    previous = db.session.get(store.WebhookAttempt, attempt_id)
    if previous is None or previous.endpoint_id != endpoint.id or previous.sequence is None:
        abort(404, description="There is no such delivery of an event to resend.")
    event = db.session.scalar(
        select(Event).where(
            Event.event_id == previous.event_id,
            Event.organization_id == endpoint.organization_id,
        )
    )
    if event is None:
        flash("That event is no longer kept (retention), so it cannot be sent again.", "error")
        return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id), 303)
    event_id = event.event_id
    attempt = _send_now(endpoint, event_id, event.type, event.sequence, event.body, "resend")
    _flash_attempt(f"Resend of {event_id}", attempt)
    db.session.commit()
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id), 303)


def _send_now(endpoint, event_id, event_type, sequence, body, kind) -> store.WebhookAttempt:
    """Send one delivery while the admin waits and record it (the caller commits).

    The request's transaction ends before the send: on SQLite a console POST holds the
    write lock from its first statement, and SCIM writes must not wait for an endpoint."""
    now = utcnow()
    endpoint_id, organization_id, url = endpoint.id, endpoint.organization_id, endpoint.url
    headers = signing.headers(
        store.signing_secrets(endpoint, now), event_id, int(time.time()), body
    )
    db.session.commit()
    with guarded_session(policy_from_config(current_app.config)) as session:
        result = post(session, url, body, headers)
    attempt = store.WebhookAttempt(
        organization_id=organization_id,
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type=event_type,
        sequence=sequence,
        attempt=1,
        kind=kind,
        attempted_at=now,
        status_code=result.status,
        succeeded=outcome(result.status) is Outcome.SUCCESS,
        duration_ms=result.duration_ms,
        response_excerpt=result.excerpt,
        error=(result.error or "")[:300] or None,
    )
    db.session.add(attempt)
    return attempt


def _flash_attempt(what: str, attempt: store.WebhookAttempt) -> None:
    if attempt.succeeded:
        flash(f"{what} delivered: {attempt.status_code} in {attempt.duration_ms} ms.", "success")
    elif attempt.status_code is not None:
        flash(f"{what} failed: the endpoint answered {attempt.status_code}.", "error")
    else:
        flash(f"{what} failed: {attempt.error}.", "error")


def _wake_worker() -> None:
    worker = current_app.extensions.get("willow_webhooks")
    if worker is not None:
        worker.wake()
