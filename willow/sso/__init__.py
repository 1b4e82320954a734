"""Sign in with SSO: provisioned users reach the console through their organization's
OpenID provider, with the console role their pushed groups grant.

- ``models``: the settings and sign-in record tables; ``settings``: saving and reading them;
  ``secrets``: the client secret's encryption; ``oidc``: the OpenID Connect relying party
  (Authlib); ``network``: where Willow may connect for it (https, no internal or metadata
  addresses); ``domains``: the organizations' verified email domains; ``matching``: who the
  provider's claims belong to (and the ``sub`` bound to them) and their role; ``access``:
  the check repeated on every console request; ``events`` / ``outcomes``: the record of
  every sign-in and the reasons shown; ``views`` / ``cli``: the console page, the sign-in
  flow and the ``sso`` commands.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import flash
from flask import request
from sqlalchemy import update

from ..console.auth import current_console_user
from ..console.auth import sign_out
from ..storage.database import WRITING_GET_ENDPOINTS
from ..storage.extensions import db
from ..storage.models import ConsoleUser


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
    # The callback records the sign-in and creates the console account; start may record
    # a refusal.
    WRITING_GET_ENDPOINTS.update({"sso.callback", "sso.start"})
    app.before_request(end_lost_sso_sessions)

    @app.context_processor
    def inject_sso() -> dict[str, Any]:
        return {"sso_sign_in": _sign_in_choice, "sso_config_of_console_user": _console_config}


def end_lost_sso_sessions() -> None:
    """Sign an SSO account out as soon as its user may no longer use the console; the
    request then goes on as anonymous (console pages send it to sign in, which says why).
    A changed role is stored and applies to this request already."""
    if request.endpoint in (None, "static") or request.path.startswith("/scim"):
        return
    account = current_console_user()
    if account is None or not account.is_sso:
        _end_read_transaction()
        return
    from .access import check_access
    from .events import record_event
    from .outcomes import reason as reason_for

    code, role = check_access(account)
    if code is None and role == account.role:
        _end_read_transaction()
        return
    account_id, organization_id = account.id, account.organization_id
    scim_user_id, email = account.scim_user_id, account.email
    # Write in a transaction of its own whose first statement is the write: on SQLite a
    # GET's read transaction cannot become a write one once another writer has committed.
    db.session.rollback()
    if code is None:
        db.session.execute(
            update(ConsoleUser).where(ConsoleUser.id == account_id).values(role=role)
        )
        db.session.commit()
        return
    event = record_event(organization_id, "ended", code, detail="console session ended")
    event.scim_user_id = scim_user_id
    event.email = email
    db.session.commit()
    sign_out()
    flash(f"Your console session has ended. {reason_for(code).message}", "error")


def _end_read_transaction() -> None:
    """End the transaction the checks read in (loaded objects stay usable), so that the
    view reads what others commit meanwhile: on SQLite (WAL) a transaction keeps seeing
    the database as it was at its first read, and the SCIM log page waits for the log
    writer's rows before reading them."""
    if db.session().in_transaction():
        db.session.commit()


def _sign_in_choice() -> dict[str, Any] | None:
    """For the sign-in page: whether to offer SSO, and whether to ask for a work email."""
    from .views import _sso_choice

    config, ask_email = _sso_choice()
    if config is None and not ask_email:
        return None
    return {"ask_email": ask_email}


def _console_config():
    from .settings import enabled_sso_config

    account = current_console_user()
    return enabled_sso_config(account.organization_id) if account is not None else None
