"""The deprovisioning guard: one identity-provider mistake cannot take access away from a
whole organization at once.

Deactivations and deletions by SCIM are counted per organization over a rolling window
(``rules``). Past the threshold the SCIM request is still applied and answered as usual,
so the IdP neither retries nor quarantines Willow, but its effects on access are held
(``store``): the user keeps their role and sessions, and their events wait outside the
events stream until an admin allows them.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    from flask import g
    from sqlalchemy.exc import SQLAlchemyError

    from . import store
    from .cli import guard_cli
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(guard_cli)

    @app.context_processor
    def inject_guard_banner() -> dict[str, Any]:
        def guard_banner() -> store.Banner | None:
            # Only for an admin this request already loaded (as the nav does): an error
            # page must not fail on a second query.
            account = g.get("console_user")
            if account is None or account.role != "admin":
                return None
            try:
                return store.banner(account.organization_id)
            except SQLAlchemyError:
                return None

        return {"guard_banner": guard_banner}
