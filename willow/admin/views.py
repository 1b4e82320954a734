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
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from ..connection.base_url import scim_base_url
from ..connection.health import NO_TRAFFIC
from ..connection.health import token_health
from ..connection.sso_status import SCIM_WORKS_EITHER_WAY
from ..connection.sso_status import SsoStatus
from ..connection.sso_status import sso_status
from ..console.access import effective_roles
from ..console.access import set_group_role
from ..console.auth import SIGN_IN_FAILED
from ..console.auth import admin_required
from ..console.auth import authenticate
from ..console.auth import current_console_user
from ..console.auth import login_required
from ..console.auth import safe_next
from ..console.auth import sign_in
from ..console.auth import sign_out
from ..console.auth import too_many_attempts
from ..console.sessions import current_session
from ..console.sessions import end_sessions
from ..console.sessions import find_organization_session
from ..console.sessions import organization_sessions
from ..console.sessions import stash_one_time_token
from ..console.sessions import take_one_time_token
from ..console.tokens import SCOPES
from ..console.tokens import TokenError
from ..console.tokens import create_token
from ..console.tokens import revoke_token
from ..events.emit import role_mapping_changed
from ..guard.store import hold_of
from ..membership_history import store as membership_history
from ..numbers import INT64_MAX
from ..numbers import NotAnInteger
from ..numbers import database_id
from ..numbers import parse_integer
from ..sso.settings import enabled_sso_config
from ..sso.settings import password_sign_in_allowed
from ..storage import models
from ..storage.extensions import db
from ..storage.models import ApiToken
from ..webhooks import events_committed
from . import directory as directory_queries
from .forms import ConfirmForm
from .forms import CreateTokenForm
from .forms import GroupFilterForm
from .forms import GroupRoleForm
from .forms import LoginForm
from .forms import UserFilterForm
from .forms import last_valid_day

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Password sign-in of a member or viewer when the organization requires SSO.
SSO_REQUIRED = "Your organization requires single sign-on: use Sign in with SSO."

#: Cookie-session key holding a refused Generate form (what was typed, never a secret, and
#: the errors) until the page shows it.
REFUSED_TOKEN_FORM_KEY = "refused_token_form"


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


bp.add_app_template_filter(last_valid_day, "last_valid_day")
# The SSO page (willow/sso) shows the same status box as API Tokens.
bp.add_app_template_global(sso_status, "sso_status")
bp.add_app_template_global(SCIM_WORKS_EITHER_WAY, "scim_works_either_way")


@bp.get("/")
@login_required
def index():
    if current_console_user().role == "admin":
        return redirect(url_for("admin.tokens"))
    return redirect(url_for("admin.directory_users"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if current_console_user() is not None:
            return redirect(form.next.data or url_for("admin.index"))
    error = None
    status = 200
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data, request.remote_addr)
        # The throttle's counters changed either way; keep them.
        db.session.commit()
        user = result.user
        if result.retry_after:
            error, status = too_many_attempts(result.retry_after), 429
        elif user is not None and not password_sign_in_allowed(user.organization_id, user.role):
            # Told only after the right password, so it reveals nothing to a guesser.
            error, status = SSO_REQUIRED, 401
        elif user is not None:
            sign_in(user)
            return redirect(safe_next(form.next.data) or url_for("admin.index"))
        else:
            error, status = SIGN_IN_FAILED, 401
    rv = make_response(render_template("admin/login.html", form=form, error=error), status)
    if status == 429:
        rv.headers["Retry-After"] = str(result.retry_after)
    return rv


@bp.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("admin.login"))


def _org_id() -> int:
    return current_console_user().organization_id


def _page_number() -> int:
    """``?page=`` by Willow's number rule: anything but a number is page 1; a page past the
    last is empty, and the largest kept still gives an OFFSET both databases take."""
    try:
        return parse_integer(
            request.args.get("page", "1"),
            1,
            INT64_MAX // directory_queries.PAGE_SIZE,
            clamp=True,
        )
    except NotAnInteger:
        return 1


def _get_token_or_404(token_id: str) -> ApiToken:
    """A token of the signed-in admin's organization; any other id is simply not found."""
    number = database_id(token_id)
    if number is None:
        abort(404)
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.id == number, ApiToken.organization_id == _org_id())
    ).first()
    if token is None:
        abort(404)
    return token


def _sso_status(org_id: int) -> SsoStatus:
    config = enabled_sso_config(org_id)
    return sso_status(config.issuer if config is not None else None)


def _connection() -> dict:
    """What an IdP's provisioning settings need beside the token: the base URL (and
    whether it is only this browser's address) and whether the users can sign in."""
    return {
        "base_url": scim_base_url(current_app.config.get("WILLOW_PUBLIC_URL"), request.url_root),
        "sso": _sso_status(_org_id()),
    }


def _render_tokens(form: CreateTokenForm):
    org_id = _org_id()
    now = models.utcnow()
    rows = db.session.scalars(
        select(ApiToken)
        .options(joinedload(ApiToken.created_by))
        .where(ApiToken.organization_id == org_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    return render_template(
        "admin/tokens.html",
        tokens=rows,
        health=token_health(org_id, now),
        no_traffic=NO_TRAFFIC,
        form=form,
        scope_labels=SCOPES,
        now=now,
        **_connection(),
    )


@bp.get("/tokens")
@admin_required
def tokens():
    form = _refused_token_form()
    return _render_tokens(form if form is not None else CreateTokenForm(formdata=None))


@bp.post("/tokens")
@admin_required
def create_token_view():
    form = CreateTokenForm()
    if form.validate():
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
        else:
            # The plaintext waits, encrypted in the server-side session, for its one display.
            stash_one_time_token(token.id, plaintext)
            db.session.commit()
            return redirect(url_for("admin.token_created", token_id=token.id))
    # Post/redirect/get for a refused form too: the answer to the POST is a redirect, so
    # Back or reload on the page showing the errors never asks to resubmit the form.
    session[REFUSED_TOKEN_FORM_KEY] = {
        "data": {name: request.form.getlist(name) for name in ("name", "scopes", "expires_on")},
        "errors": {name: list(errors) for name, errors in form.errors.items()},
    }
    return redirect(url_for("admin.tokens", _anchor="generate-token"), 303)


def _refused_token_form() -> CreateTokenForm | None:
    """The form a POST refused, with what was typed and why, shown once."""
    refused = session.pop(REFUSED_TOKEN_FORM_KEY, None)
    if not refused:
        return None
    typed = [(name, value) for name, values in refused["data"].items() for value in values]
    form = CreateTokenForm(formdata=MultiDict(typed))
    for name, errors in refused["errors"].items():
        if name in form:
            form[name].errors = list(errors)
    return form


# Ids in console URLs use the string converter and Willow's number rule (database_id):
# Werkzeug's <int:> reads any Unicode digits and any length, and an id beyond 64 bits
# failed inside the database.
@bp.get("/tokens/<token_id>/created")
@admin_required
def token_created(token_id: str):
    token = _get_token_or_404(token_id)
    plaintext = take_one_time_token(token.id)
    rv = make_response(
        render_template(
            "admin/token_created.html", token=token, plaintext=plaintext, **_connection()
        )
    )
    # Neither the browser's history nor any cache may keep a copy of the secret.
    rv.headers["Cache-Control"] = "no-store"
    return rv


@bp.route("/tokens/<token_id>/revoke", methods=["GET", "POST"])
@admin_required
def revoke_token_view(token_id: str):
    token = _get_token_or_404(token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        revoke_token(token)
        db.session.commit()
        flash(f"Token “{token.name}” is revoked: requests that use it now get 401.", "success")
        return redirect(url_for("admin.tokens"))
    return render_template("admin/revoke_token.html", token=token, form=form)


@bp.get("/directory")
@login_required
def directory():
    return redirect(url_for("admin.directory_users"))


@bp.get("/directory/users")
@login_required
def directory_users():
    form = UserFilterForm(request.args)
    if not form.validate():
        form = UserFilterForm(formdata=None)
    sort = request.args.get("sort", "userName")
    if sort not in directory_queries.USER_SORTS:
        sort = "userName"
    descending = request.args.get("dir") == "desc"
    stmt = directory_queries.users_query(
        _org_id(), form.q.data or "", form.status.data or "", sort, descending
    )
    page = directory_queries.paginate(stmt, _page_number())
    args = {"q": form.q.data or None, "status": form.status.data or None}
    return render_template(
        "admin/directory_users.html",
        form=form,
        page=page,
        sort=sort,
        descending=descending,
        args={k: v for k, v in args.items() if v},
    )


@bp.get("/directory/users/<user_id>")
@login_required
def directory_user(user_id: str):
    org_id = _org_id()
    user = directory_queries.get_user(org_id, user_id)
    if user is None:
        abort(404)
    return render_template(
        "admin/directory_user.html",
        user=user,
        groups=directory_queries.user_groups(org_id, user.id),
        history=membership_history.history_of(org_id, user.id),
        history_limit=membership_history.PAGE_LIMIT,
        roles=sorted(effective_roles(user.id, org_id)),
        held=hold_of(user.id, org_id) is not None,
    )


@bp.get("/directory/groups")
@login_required
def directory_groups():
    form = GroupFilterForm(request.args)
    if not form.validate():
        form = GroupFilterForm(formdata=None)
    org_id = _org_id()
    page = directory_queries.paginate(
        directory_queries.groups_query(org_id, form.q.data or ""),
        _page_number(),
    )
    counts = directory_queries.member_counts(org_id, [group.id for (group,) in page.items])
    return render_template(
        "admin/directory_groups.html",
        form=form,
        page=page,
        counts=counts,
        args={"q": form.q.data} if form.q.data else {},
    )


def _render_group(group, form: GroupRoleForm, status: int = 200):
    org_id = _org_id()
    members, has_more = directory_queries.group_members(
        org_id, group.id, after=request.args.get("after")
    )
    return render_template(
        "admin/directory_group.html",
        group=group,
        form=form,
        members=members,
        has_more=has_more,
        member_count=directory_queries.member_count(org_id, group.id),
        after=request.args.get("after"),
    ), status


@bp.get("/directory/groups/<group_id>")
@login_required
def directory_group(group_id: str):
    group = directory_queries.get_group(_org_id(), group_id)
    if group is None:
        abort(404)
    return _render_group(group, GroupRoleForm(formdata=None, role=group.role or ""))


@bp.post("/directory/groups/<group_id>/role")
@admin_required
def set_group_role_view(group_id: str):
    group = directory_queries.get_group(_org_id(), group_id)
    if group is None:
        abort(404)
    form = GroupRoleForm()
    if not form.validate():
        return _render_group(group, form, 400)
    before = group.role
    set_group_role(group, form.role.data or None)
    role_mapping_changed(group, before, current_console_user().email)
    db.session.commit()
    events_committed(current_app)
    if group.role:
        message = f"Members of \u201c{group.display_name}\u201d now get the {group.role} role."
    else:
        message = f"\u201c{group.display_name}\u201d no longer grants a role."
    flash(message, "success")
    return redirect(url_for("admin.directory_group", group_id=group.id))


@bp.get("/logs")
@login_required
def logs():
    return render_template("admin/logs.html")


@bp.get("/sessions")
@admin_required
def sessions():
    return render_template(
        "admin/sessions.html",
        sessions=organization_sessions(_org_id()),
        current=current_session(),
        form=ConfirmForm(formdata=None),
    )


@bp.post("/sessions/<session_id>/end")
@admin_required
def end_session_view(session_id: str):
    number = database_id(session_id)
    row = find_organization_session(_org_id(), number) if number is not None else None
    if row is None:
        abort(404)
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    if row.id == current_session().id:
        sign_out()
        return redirect(url_for("admin.login"))
    email = row.user.email
    end_sessions([row])
    db.session.commit()
    flash(f"Ended a console session of {email}: it must sign in again.", "success")
    return redirect(url_for("admin.sessions"))
