"""Admin console pages: sign-in, API tokens, directory, logs.

Views are thin: they read a form, call the domain functions, commit once and redirect
(POST/redirect/GET). Every page but sign-in requires a console user and is scoped to
that user's organization.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from .. import models
from ..auth import SCOPES
from ..auth import TokenError
from ..auth import create_token
from ..auth import revoke_token
from ..console_auth import SIGN_IN_FAILED
from ..console_auth import authenticate
from ..console_auth import current_console_user
from ..console_auth import login_required
from ..console_auth import safe_next
from ..console_auth import sign_in
from ..console_auth import sign_out
from ..extensions import db
from ..models import ApiToken
from .forms import ConfirmForm
from .forms import CreateTokenForm
from .forms import LoginForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Session key holding a just-generated token until its one display.
NEW_TOKEN_KEY = "new_api_token"


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


def _org_id() -> int:
    return current_console_user().organization_id


def _get_token_or_404(token_id: int) -> ApiToken:
    """A token of the signed-in admin's organization; any other id is simply not found."""
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.organization_id == _org_id())
    ).first()
    if token is None:
        abort(404)
    return token


def _render_tokens(form: CreateTokenForm, status: int = 200):
    rows = db.session.scalars(
        select(ApiToken)
        .options(joinedload(ApiToken.created_by))
        .where(ApiToken.organization_id == _org_id())
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    return render_template(
        "admin/tokens.html", tokens=rows, form=form, scope_labels=SCOPES, now=models.utcnow()
    ), status


@bp.get("/tokens")
@login_required
def tokens():
    return _render_tokens(CreateTokenForm(formdata=None))


@bp.post("/tokens")
@login_required
def create_token_view():
    form = CreateTokenForm()
    if not form.validate():
        return _render_tokens(form, 400)
    user = current_console_user()
    try:
        token, plaintext = create_token(
            user.organization_id,
            form.name.data,
            form.scopes.data,
            expires_at=form.expires_at(),
            created_by_id=user.id,
            # Kept as well, so the table still says who created it if the account goes.
            created_by_label=user.email,
        )
    except TokenError as exc:
        form.name.errors.append(str(exc))
        return _render_tokens(form, 400)
    db.session.commit()
    # The plaintext lives in the session only until the next page shows it once.
    session[NEW_TOKEN_KEY] = {"id": token.id, "value": plaintext}
    return redirect(url_for("admin.token_created", token_id=token.id))


@bp.get("/tokens/<int:token_id>/created")
@login_required
def token_created(token_id: int):
    token = _get_token_or_404(token_id)
    pending = session.pop(NEW_TOKEN_KEY, None)
    plaintext = pending["value"] if pending and pending.get("id") == token.id else None
    rv = make_response(
        render_template("admin/token_created.html", token=token, plaintext=plaintext)
    )
    # Neither the browser's history nor any cache may keep a copy of the secret.
    rv.headers["Cache-Control"] = "no-store"
    return rv


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_token_view(token_id: int):
    token = _get_token_or_404(token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        revoke_token(token)
        db.session.commit()
        flash(f"Token “{token.name}” is revoked: requests that use it now get 401.", "success")
        return redirect(url_for("admin.tokens"))
    return render_template("admin/revoke_token.html", token=token, form=form)
