"""Admin console pages: sign-in, API tokens, directory, logs.

Views are thin: they read a form, call the domain functions, commit once and redirect
(POST/redirect/GET). Every page but sign-in requires a console user and is scoped to
that user's organization.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from ..auth import SCOPES
from ..console_auth import SIGN_IN_FAILED
from ..console_auth import authenticate
from ..console_auth import current_console_user
from ..console_auth import login_required
from ..console_auth import safe_next
from ..console_auth import sign_in
from ..console_auth import sign_out
from ..extensions import db
from ..models import ApiToken
from .forms import LoginForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_template_global()
def endpoint_url(endpoint: str, **values) -> str | None:
    """The URL of ``endpoint``, or None when no blueprint registers it: the console links
    to pages of other features (e.g. the monitor's SCIM log) only where they exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.get("/")
@login_required
def index():
    return redirect(url_for("admin.tokens"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if current_console_user() is not None:
            return redirect(form.next.data or url_for("admin.index"))
    error = None
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        # The failure counters changed either way; keep them.
        db.session.commit()
        if user is not None:
            sign_in(user)
            return redirect(safe_next(form.next.data) or url_for("admin.index"))
        error = SIGN_IN_FAILED
    status = 401 if error else 200
    return render_template("admin/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("admin.login"))


@bp.get("/tokens")
@login_required
def tokens():
    user = current_console_user()
    rows = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.organization_id == user.organization_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    return render_template("admin/tokens.html", tokens=rows, scope_labels=SCOPES)
