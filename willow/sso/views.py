"""Single sign-on pages: the admins' settings page, and the sign-in flow
(start → the identity provider → callback → signed in, or a page saying why not)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from ..console.auth import admin_required
from ..console.auth import current_console_user
from ..console.auth import safe_next
from ..console.auth import sign_in
from ..console.organizations import get_organization
from ..storage.extensions import db
from ..storage.models import Organization
from . import oidc
from .cli import CALLBACK_PATH
from .domains import DnsUnavailable
from .domains import DomainError
from .domains import domain_names
from .domains import domains_of
from .domains import txt_name
from .domains import txt_value
from .domains import verify_domain
from .events import events_page
from .events import record_event
from .forms import SsoSettingsForm
from .forms import SsoStartForm
from .forms import VerifyDomainForm
from .matching import bind_subject
from .matching import console_account
from .matching import find_user
from .matching import refusal_for
from .matching import subject_refusal
from .models import SsoConfig
from .outcomes import REASONS
from .outcomes import reason as reason_for
from .secrets import SecretUnreadable
from .settings import SsoSettingsError
from .settings import configure_sso
from .settings import disable_sso
from .settings import enabled_sso_config
from .settings import get_sso_config
from .settings import organization_for_email
from .settings import sso_organizations

bp = Blueprint("sso", __name__, url_prefix="/admin/sso")

PURPOSE_SIGN_IN = "sign-in"
PURPOSE_TEST = "test"


def redirect_uri() -> str:
    """The callback URL the identity provider must know: WILLOW_PUBLIC_URL behind a proxy,
    else the URL this request came to."""
    public = (current_app.config.get("WILLOW_PUBLIC_URL") or "").rstrip("/")
    if public:
        return public + CALLBACK_PATH
    return url_for("sso.callback", _external=True)


# --- Settings (admins only) -------------------------------------------------------------


def _render_settings(form: SsoSettingsForm, status: int = 200):
    org_id = current_console_user().organization_id
    config = get_sso_config(org_id)
    org = db.session.get(Organization, org_id)
    return render_template(
        "sso/settings.html",
        form=form,
        config=config,
        redirect_uri=redirect_uri(),
        sign_in_url=url_for("sso.start", org=org.slug, _external=True),
        domains=domains_of(org_id),
        txt_name=txt_name,
        txt_value=txt_value,
        events=events_page(org_id, request.args.get("page", 1, type=int)),
        reasons=REASONS,
    ), status


@bp.get("/")
@admin_required
def settings():
    org_id = current_console_user().organization_id
    config = get_sso_config(org_id)
    form = SsoSettingsForm(formdata=None, obj=config)
    form.allowed_domains.data = " ".join(domain_names(org_id))
    return _render_settings(form)


@bp.post("/")
@admin_required
def save_settings():
    form = SsoSettingsForm()
    if not form.validate():
        return _render_settings(form, 400)
    org = db.session.get(Organization, current_console_user().organization_id)
    try:
        configure_sso(
            org,
            form.issuer.data,
            form.client_id.data,
            form.client_secret.data,
            allowed_domains=form.allowed_domains.data or "",
            require_sso=form.require_sso.data,
        )
    except SsoSettingsError as exc:
        db.session.rollback()
        message = str(exc)
        field = form.client_secret if "secret" in message else form.issuer
        if "domain" in message:
            field = form.allowed_domains
        field.errors = [*field.errors, message[0].upper() + message[1:] + "."]
        return _render_settings(form, 400)
    db.session.commit()
    flash("Single sign-on is saved and on. Use Test sign-in to check it.", "success")
    return redirect(url_for("sso.settings"))


@bp.post("/domains/verify")
@admin_required
def verify_domain_now():
    """Look up a claimed domain's TXT record now ("Verify now")."""
    form = VerifyDomainForm()
    if not form.validate():
        flash("Choose a domain to verify.", "error")
        return redirect(url_for("sso.settings"))
    try:
        row = verify_domain(current_console_user().organization_id, form.domain.data)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Not verified: {exc}.", "error")
        return redirect(url_for("sso.settings"))
    except DnsUnavailable as exc:
        db.session.rollback()
        reference = oidc.log_upstream("domain verification", str(exc))
        flash(
            "Not verified: DNS did not answer. Try again in a few minutes "
            f"(see the server log, reference {reference}).",
            "error",
        )
        return redirect(url_for("sso.settings"))
    db.session.commit()
    flash(f"{row.domain} is verified: sign-ins with its email addresses come here.", "success")
    return redirect(url_for("sso.settings"))


@bp.post("/disable")
@admin_required
def disable():
    org = db.session.get(Organization, current_console_user().organization_id)
    if disable_sso(org):
        db.session.commit()
        flash("Single sign-on is off. SSO users' sessions end at their next request.", "success")
    return redirect(url_for("sso.settings"))


@bp.post("/test")
@admin_required
def test_sign_in():
    """Run the sign-in flow without signing anyone in: the result comes back to this page."""
    config = enabled_sso_config(current_console_user().organization_id)
    if config is None:
        flash("Save the settings first.", "error")
        return redirect(url_for("sso.settings"))
    return _begin(config, PURPOSE_TEST, None, None)


# --- Sign-in flow -----------------------------------------------------------------------


def _refuse(
    organization_id: int | None,
    code: str,
    *,
    detail: str | None = None,
    claims: dict | None = None,
    user=None,
    purpose: str = PURPOSE_SIGN_IN,
):
    """Record the refusal and answer the page that says why (or, for a test, go back to
    the settings page with the result). A refusal tied to no organization (no sign-in was
    started with its state: anyone can send such a request) goes to the server log only,
    so that nobody can fill an organization's record, or the table, with forgeries."""
    test = purpose == PURPOSE_TEST
    if organization_id is None:
        # %r: the detail may carry text the request sent, newlines included.
        oidc.log.info("SSO sign-in refused without an organization: %s (%r)", code, detail)
    else:
        record_event(
            organization_id, "refused", code, detail=detail, test=test, claims=claims,
            user=user,
        )
        db.session.commit()
    reason = reason_for(code)
    if test and current_console_user() is not None:
        flash(f"Test sign-in refused: {reason.label}. {detail or ''}".strip(), "error")
        return redirect(url_for("sso.settings"))
    return render_template("sso/refused.html", reason=reason, code=code), reason.status


def _begin(config: SsoConfig, purpose: str, next_url: str | None, login_hint: str | None):
    extra: dict[str, Any] = {
        "org_id": config.organization_id,
        "purpose": purpose,
        "next": next_url,
    }
    try:
        url = oidc.begin(config, redirect_uri(), extra, login_hint=login_hint)
    except oidc.ProviderError as exc:
        return _refuse(
            config.organization_id, "provider_unreachable", detail=str(exc), purpose=purpose
        )
    except SecretUnreadable as exc:
        return _refuse(config.organization_id, "misconfigured", detail=str(exc), purpose=purpose)
    return redirect(url)


def _sso_choice() -> tuple[SsoConfig | None, bool]:
    """The organization the sign-in page's SSO button is for, and whether the page must
    ask for a work email to find it (several organizations use SSO)."""
    orgs = sso_organizations()
    if len(orgs) == 1:
        return orgs[0][1], False
    return None, len(orgs) > 1


@bp.route("/start", methods=["GET", "POST"])
def start():
    """Begin an SSO sign-in. GET serves links and IdP app tiles ("initiate login URI");
    POST is the sign-in page's button, with a work email when several organizations
    use SSO. ``?org=SLUG`` is the organization's own sign-in URL: it needs neither the
    email nor a verified domain."""
    form = SsoStartForm(request.form if request.method == "POST" else request.args)
    if request.method == "POST" and not form.validate():
        return redirect(url_for("admin.login"))
    next_url = safe_next(form.next.data)
    email = form.email.data or ""
    slug = request.args.get("org", "")
    if slug:
        org = get_organization(slug[:64])
        config = enabled_sso_config(org.id) if org is not None else None
        if config is None:
            return _refuse(None, "not_configured")
        return _begin(config, PURPOSE_SIGN_IN, next_url, email or None)
    config, ask_email = _sso_choice()
    if config is None and ask_email:
        found = organization_for_email(email) if email else None
        if found is None:
            message = (
                "No organization signs in with SSO for that email address."
                if email
                else "Enter your work email to find your organization's single sign-on."
            )
            flash(message, "error")
            return redirect(url_for("admin.login", next=next_url))
        config = found[1]
    if config is None:
        return _refuse(None, "not_configured")
    return _begin(config, PURPOSE_SIGN_IN, next_url, email or None)


def _error_detail() -> str:
    error = request.args.get("error", "")[:100]
    description = request.args.get("error_description", "")[:300]
    return f"{error}: {description}" if description else error


@bp.get("/callback")
def callback():
    state = request.args.get("state")
    pending = oidc.pending_sign_in(state)
    if pending is None:
        # Not filed under any organization: without a state this browser started, the
        # request may come from anyone.
        if request.args.get("error") and not state:
            # RFC 6749 §4.1.2.1 asks providers to send the state back with errors too;
            # some do not. The refusal is the same whoever sent it.
            return _refuse(None, "idp_error", detail=_error_detail() + " (no state)")
        return _refuse(None, "state_mismatch", detail="no sign-in was started with this state")
    org_id = pending.get("org_id")
    purpose = pending.get("purpose", PURPOSE_SIGN_IN)
    config = enabled_sso_config(org_id) if isinstance(org_id, int) else None
    if config is None:
        oidc.forget_sign_in(state)
        return _refuse(org_id, "not_configured", purpose=purpose)
    if request.args.get("error"):
        oidc.forget_sign_in(state)
        return _refuse(org_id, "idp_error", detail=_error_detail(), purpose=purpose)
    try:
        claims = oidc.complete(config)
    except oidc.SignInError as exc:
        return _refuse(org_id, exc.reason, detail=exc.detail, purpose=purpose)
    except oidc.ProviderError as exc:
        return _refuse(org_id, "provider_unreachable", detail=str(exc), purpose=purpose)
    except SecretUnreadable as exc:
        return _refuse(org_id, "misconfigured", detail=str(exc), purpose=purpose)

    match = find_user(org_id, claims, domain_names(org_id))
    if match.user is None:
        return _refuse(org_id, "no_match", detail=match.detail, claims=claims, purpose=purpose)
    mismatch = subject_refusal(match.user, config.issuer, claims)
    if mismatch is not None:
        return _refuse(
            org_id, "subject_mismatch", detail=f"matched by {match.by}; {mismatch}",
            claims=claims, user=match.user, purpose=purpose,
        )
    code, role = refusal_for(match.user)
    if code is not None:
        return _refuse(
            org_id, code, detail=f"matched by {match.by}", claims=claims, user=match.user,
            purpose=purpose,
        )

    detail = f"matched by {match.by}"
    if purpose == PURPOSE_TEST:
        record_event(
            org_id, "success", "signed_in", detail=detail, test=True, claims=claims,
            user=match.user, role=role,
        )
        db.session.commit()
        flash(
            f"Test sign-in succeeded: {match.user.user_name} would sign in as {role} "
            f"({detail}).",
            "success",
        )
        return redirect(url_for("sso.settings"))
    if not bind_subject(match.user, config.issuer, claims["sub"]):
        return _refuse(
            org_id, "subject_mismatch", detail="bound to another sub meanwhile", claims=claims,
            user=match.user,
        )
    account = console_account(match.user, role)
    record_event(
        org_id, "success", "signed_in", detail=detail, claims=claims, user=match.user, role=role
    )
    db.session.commit()
    sign_in(account)
    return redirect(safe_next(pending.get("next")) or url_for("admin.index"))
