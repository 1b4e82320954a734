"""Admin → Provisioning guard (admins only): the held changes and the admin's decision,
and the threshold."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from ..console.auth import admin_required
from ..console.auth import current_console_user
from ..events.console import log_entry_id
from ..storage.extensions import db
from ..webhooks import events_committed
from . import rules
from . import store
from .forms import DecisionForm
from .forms import GuardSettingsForm

bp = Blueprint("guard", __name__, url_prefix="/admin/guard")

_ALLOWED = "their users' console sessions ended and their events went out."


def _org_id() -> int:
    return current_console_user().organization_id


def _page(settings_form: GuardSettingsForm | None = None, status: int = 200):
    org_id = _org_id()
    settings = store.settings_of(org_id)
    if settings_form is None:
        settings_form = GuardSettingsForm(
            enabled=settings.enabled,
            count=settings.count,
            percent=settings.percent,
            window_minutes=settings.window_minutes,
        )
    held = store.held_changes(org_id)
    entries = {c.id: log_entry_id(org_id, c.request_id, c.occurred_at) for c in held}
    return (
        render_template(
            "guard/guard.html",
            held=held,
            entries=entries,
            settings=settings,
            defaults=rules.DEFAULTS,
            settings_form=settings_form,
            decision_form=DecisionForm(),
            decisions=store.decisions(org_id),
        ),
        status,
    )


@bp.get("/")
@admin_required
def guard():
    return _page()


@bp.post("/settings")
@admin_required
def save_settings():
    form = GuardSettingsForm()
    if not form.validate():
        return _page(form, 400)
    store.save_settings(
        _org_id(),
        rules.Settings(
            bool(form.enabled.data), form.count.data, form.percent.data, form.window_minutes.data
        ),
    )
    db.session.commit()
    flash("Provisioning guard settings saved.", "success")
    return redirect(url_for("guard.guard"), 303)


def _selected() -> list[int] | None:
    """The ids of the ticked held changes; None when one is not an id."""
    values = request.form.getlist("change")
    if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in values):
        return None
    return [int(v) for v in values]


@bp.post("/decide")
@admin_required
def decide():
    form = DecisionForm()
    if not form.validate():
        flash("The form expired; nothing was decided. Try again.", "error")
        return redirect(url_for("guard.guard"), 303)
    user = current_console_user()
    org_id, actor = user.organization_id, user.email
    action = request.form.get("action")
    if action == "allow_all":
        released = store.release(org_id, actor)
        message = f"Allowed {released} held changes: {_ALLOWED}"
    elif action == "allow_selected":
        ids = _selected()
        if not ids:
            flash("Tick the held changes to allow first; nothing was decided.", "error")
            return redirect(url_for("guard.guard"), 303)
        released = store.release(org_id, actor, ids=ids)
        message = f"Allowed {released} held changes: {_ALLOWED}"
    elif action == "keep_holding":
        kept = store.keep_holding(org_id, actor)
        message = f"Keeping {kept} changes held."
    else:
        flash("Choose Allow all, Allow selected or Keep holding.", "error")
        return redirect(url_for("guard.guard"), 303)
    db.session.commit()
    if action != "keep_holding":
        events_committed(current_app)
    flash(message, "success")
    return redirect(url_for("guard.guard"), 303)
